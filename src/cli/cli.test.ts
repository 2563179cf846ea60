import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;

/** `mipay up` as a user runs it: its own process, an embedded database in a fresh data folder, real sockets. */
describe('mipay up, as a process', () => {
  let dataDir: string;
  let child: ChildProcessWithoutNullStreams;
  let stdout = '';
  let platformUrl = '';
  let bankUrl = '';

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mipay-cli-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env, MIPAY_DATA_DIR: dataDir, MIPAY_LOG_LEVEL: 'warn',
      MIPAY_PLATFORM_PORT: '0', MIPAY_BANK_PORT: '0', MIPAY_BANK_ISO_PORT: '0', MIPAY_NETWORK_PORT: '0', MIPAY_TRANSIT_PORT: '0',
    };
    delete env.DATABASE_URL;
    child = spawn(process.execPath, [bin, 'up'], { env });
    child.stderr.on('data', (chunk) => { stdout += String(chunk); });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mipay up did not start:\n${stdout}`)), 150_000);
      child.stdout.on('data', (chunk) => {
        stdout += String(chunk);
        const platform = stdout.match(/platform API\s+(http:\/\/\S+)\/v1/);
        const bank = stdout.match(/banks\s+(http:\/\/\S+)\/v1\/banks/);
        if (platform && bank) {
          platformUrl = platform[1]!;
          bankUrl = bank[1]!;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`mipay up exited with ${code}:\n${stdout}`)));
    });
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('prints its URLs and serves /healthz, /docs and /openapi.json', async () => {
    assert.match(stdout, /database\s+PGlite \(embedded\)/);
    const health = await fetch(`${platformUrl}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok', party: 'platform', checks: { database: 'ok' } });
    assert.equal((await fetch(`${platformUrl}/docs/`)).status, 200);
    const doc = (await (await fetch(`${platformUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/v1/payment-account/applications']);
    assert.equal((await fetch(`${bankUrl}/healthz`)).status, 200);
  });

  test('`mipay bank issue-card` issues a card at the running bank and prints its number', () => {
    const result = spawnSync(process.execPath, [bin, 'bank', 'issue-card', '--bank', 'NXB', '--kind', 'credit', '--brand', 'visa',
      '--name', '张三', '--id-number', '11010519491231002X', '--phone', '13800138000', '--credit-limit', '20000'], {
      env: { ...process.env, MIPAY_DATA_DIR: dataDir }, encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.trim(), /^438088[0-9]{10}$/);
    const refused = spawnSync(process.execPath, [bin, 'bank', 'issue-card', '--bank', 'NOPE', '--name', 'x', '--id-number', '11010519491231002X', '--phone', '13800138000'], {
      env: { ...process.env, MIPAY_DATA_DIR: dataDir }, encoding: 'utf8',
    });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /No sandbox bank has code NOPE.*\(bank_code\)/);
  });

  test('one writer per data folder: a second `mipay up` stops at once naming the first\'s pid; `network clearing` asks the running server', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, MIPAY_DATA_DIR: dataDir, MIPAY_PLATFORM_PORT: '0', MIPAY_BANK_PORT: '0', MIPAY_BANK_ISO_PORT: '0', MIPAY_NETWORK_PORT: '0', MIPAY_TRANSIT_PORT: '0' };
    delete env.DATABASE_URL;
    const second = spawnSync(process.execPath, [bin, 'up'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(second.status, 1, second.stdout);
    assert.match(second.stderr, new RegExp(`in use by \`mipay up\` \\(pid ${child.pid},.*stop it first`));
    assert.equal(second.stdout.includes('is up'), false);
    const migrate = spawnSync(process.execPath, [bin, 'migrate'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(migrate.status, 1);
    assert.match(migrate.stderr, new RegExp(`pid ${child.pid}`));
    const clearing = spawnSync(process.execPath, [bin, 'network', 'clearing', '--date', '2026-11-30'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(clearing.status, 0, clearing.stderr);
    assert.match(clearing.stdout, /^H,MIPAYNET,49990000,2026-11-30,/);
    assert.match(clearing.stdout, /\nT,0,0,0,0,0,0/);
  });

  test('stops gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  test('`mipay migrate` on the same data folder finds nothing to do', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, MIPAY_DATA_DIR: dataDir };
    delete env.DATABASE_URL;
    const result = spawnSync(process.execPath, [bin, 'migrate'], { env, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /already up to date/);
    // With no server on the folder, the clearing file is read offline.
    const clearing = spawnSync(process.execPath, [bin, 'network', 'clearing', '--date', '2026-11-30'], { env, encoding: 'utf8' });
    assert.equal(clearing.status, 0, clearing.stderr);
    assert.match(clearing.stdout, /^H,MIPAYNET,49990000,2026-11-30,/);
  });
});
