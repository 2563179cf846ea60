// The docs cannot rot: every `sh` block of docs/getting-started.md runs, in order, in one bash
// session against a freshly started `mipay up` (its own process, a temporary data folder, ports
// the OS picks), and each `text` block after a command must appear in what that block printed.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/mipay.mjs');

interface Block { lang: string; info: string; text: string }

/** The fenced blocks of a Markdown file, in order. */
export function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```(\S*)[ \t]*(.*)\n([\s\S]*?)^```$/gm;
  for (const match of markdown.matchAll(fence)) blocks.push({ lang: match[1]!, info: match[2]!.trim(), text: match[3]! });
  return blocks;
}

/**
 * Checks that each line of `expected` appears in `actual`, in order, each within one line (two
 * JSON answers may share a line: curl adds no newline); `<placeholder>` stands for any text.
 */
export function assertPrinted(actual: string, expected: string, where: string): void {
  let at = 0;
  for (const want of expected.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const parts = want.split(/<[^<>\s][^<>]*>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ +/g, ' +'));
    const pattern = new RegExp(parts.join('[^\\n]+?'), 'g');
    pattern.lastIndex = at;
    const found = pattern.exec(actual);
    assert.ok(found, `${where}: expected a line like\n  ${want}\nafter character ${at} of:\n${actual}`);
    at = found.index + found[0].length;
  }
}

describe('docs/getting-started.md, run as written against a fresh `mipay up`', { timeout: 600_000 }, () => {
  let dataDir: string;
  let child: ChildProcessWithoutNullStreams;
  let banner = '';
  const ports = new Map<string, string>();

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mipay-docs-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env, MIPAY_DATA_DIR: dataDir, MIPAY_LOG_LEVEL: 'warn',
      MIPAY_PLATFORM_PORT: '0', MIPAY_BANK_PORT: '0', MIPAY_BANK_ISO_PORT: '0', MIPAY_NETWORK_PORT: '0', MIPAY_TRANSIT_PORT: '0',
    };
    delete env.DATABASE_URL;
    child = spawn(process.execPath, [bin, 'up'], { env });
    child.stderr.on('data', (chunk) => { banner += String(chunk); });
    await new Promise<void>((resolveStarted, reject) => {
      const timer = setTimeout(() => reject(new Error(`mipay up did not start:\n${banner}`)), 90_000);
      child.stdout.on('data', (chunk) => {
        banner += String(chunk);
        if (banner.includes('Press Ctrl+C to stop.')) {
          clearTimeout(timer);
          resolveStarted();
        }
      });
      child.once('exit', (code) => reject(new Error(`mipay up exited with ${code}:\n${banner}`)));
    });
    const find = (re: RegExp) => banner.match(re)?.[1] ?? assert.fail(`no ${re} in:\n${banner}`);
    ports.set('7300', find(/platform API\s+http:\/\/127\.0\.0\.1:([0-9]+)/));
    ports.set('7301', find(/banks\s+http:\/\/127\.0\.0\.1:([0-9]+)/));
    ports.set('7302', find(/ISO 8583 127\.0\.0\.1:([0-9]+)/));
    ports.set('7303', find(/network\s+ISO 8583 \(TCP, 2-byte length\) 127\.0\.0\.1:([0-9]+)/));
    ports.set('7304', find(/transit\s+operators http:\/\/127\.0\.0\.1:([0-9]+)/));
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The documented default ports, replaced by the ones this server got. */
  const onThisServer = (text: string) => text.replace(/127\.0\.0\.1:(730[0-4])/g, (_all, port: string) => `127.0.0.1:${ports.get(port)}`);

  test('the start banner in the guide and in the README is what `mipay up` prints', () => {
    const guide = fencedBlocks(readFileSync(join(root, 'docs/getting-started.md'), 'utf8'));
    const serverAt = guide.findIndex((b) => b.info === 'server');
    assert.ok(serverAt >= 0 && guide[serverAt + 1]?.lang === 'text', 'the guide shows the banner after the server block');
    assertPrinted(banner, onThisServer(guide[serverAt + 1]!.text), 'getting-started banner');
    const readmeBanner = fencedBlocks(readFileSync(join(root, 'README.md'), 'utf8')).find((b) => b.text.includes('is up (sandbox mode'));
    assert.ok(readmeBanner, 'README shows the start banner');
    assertPrinted(banner, onThisServer(readmeBanner.text), 'README banner');
  });

  test('every command block runs and prints what the guide shows', () => {
    const blocks = fencedBlocks(readFileSync(join(root, 'docs/getting-started.md'), 'utf8'));
    const steps: Array<{ script: string; expected?: string }> = [];
    blocks.forEach((block, i) => {
      if (block.lang !== 'sh' || block.info === 'server') return;
      const next = blocks[i + 1];
      steps.push({ script: onThisServer(block.text), expected: next?.lang === 'text' ? onThisServer(next.text) : undefined });
    });
    assert.ok(steps.length >= 6, 'the guide has its command blocks');
    const marker = (i: number) => `@@@ block ${i} @@@`;
    const script = ['set -euo pipefail', 'exec 2>&1', ...steps.flatMap((s, i) => [`echo '${marker(i)}'`, s.script])].join('\n');
    const env: NodeJS.ProcessEnv = { ...process.env, MIPAY_DATA_DIR: dataDir, MIPAY_LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.MIPAY_PHONE_PASSPHRASE;
    const run = spawnSync('bash', ['-c', script], { cwd: root, env, encoding: 'utf8', timeout: 480_000 });
    const output = run.stdout;
    assert.equal(run.status, 0, `the guide's commands failed (exit ${run.status}):\n${output}\n${run.stderr}`);
    steps.forEach((step, i) => {
      const start = output.indexOf(marker(i));
      const end = i + 1 < steps.length ? output.indexOf(marker(i + 1)) : output.length;
      assert.ok(start >= 0, `block ${i} ran`);
      if (step.expected) assertPrinted(output.slice(start, end), step.expected, `block ${i}:\n${step.script}`);
    });
  });
});

test('README and docs/ link only to files inside the repository, and every link resolves', () => {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target!)) continue;
      const path = resolve(dirname(join(root, file)), target!.split('#')[0]!);
      assert.ok(path.startsWith(root), `${file} links outside the repository: ${target}`);
      assert.ok(existsSync(path), `${file} links to a missing file: ${target}`);
    }
  }
});

test('`npx mipay` runs the project\'s own command after `npm ci`', () => {
  const result = spawnSync('npx', ['--no-install', 'mipay', '--version'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(result.stdout.trim(), version);
});
