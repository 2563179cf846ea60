#!/usr/bin/env node
// Runs the whole suite with Node's own test runner (tsx for TypeScript): once on the embedded
// PGlite database, and once more on a real PostgreSQL when TEST_DATABASE_URL is set.
// Node 20's `--test` takes no globs, so the test files are listed here.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const files = (only.length > 0 ? only : findTests(join(root, 'src'))).sort();
// initdb of a PGlite instance takes seconds; each test file instead starts from one blank data
// directory made here once (openTestDatabase reads it from MIPAY_TEST_PGLITE_DUMP).
const scratch = mkdtempSync(join(tmpdir(), 'mipay-test-'));
const dumpPath = join(scratch, 'blank-pglite.tar');
{
  const blank = new PGlite();
  await blank.waitReady;
  const dump = await blank.dumpDataDir('none');
  writeFileSync(dumpPath, Buffer.from(await dump.arrayBuffer()));
  await blank.close();
}

// Every logger of the run (in-process systems and spawned `mipay` processes) also writes here;
// the run ends with a scan of all of it for card numbers.
const logDir = join(scratch, 'logs');
mkdirSync(logDir);
const targets = [{ name: 'PGlite', env: { MIPAY_TEST_DB: 'pglite', MIPAY_TEST_PGLITE_DUMP: dumpPath, MIPAY_TEST_LOG_DIR: logDir } }];
if (process.env.TEST_DATABASE_URL) {
  targets.push({ name: 'PostgreSQL', env: { MIPAY_TEST_DB: 'postgres', MIPAY_TEST_LOG_DIR: logDir } });
}

// Test files per engine at once. Node's default is one less than the cores (one file at a time
// here), but most of a file's time is spent waiting on fsync, sockets and spawned processes, so
// several files share the 2 cores well. MIPAY_TEST_CONCURRENCY overrides it.
const concurrency = Number(process.env.MIPAY_TEST_CONCURRENCY ?? 4);

// The two engines run side by side: much of each run waits on I/O (fsync, sockets), so on two
// cores both finish well before the sum of their times. Each run's output is kept and printed
// whole when it ends, so the reports never interleave.
function run(target, testFiles = files) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...testFiles], {
      cwd: root, env: { ...process.env, ...target.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('close', (code) => resolve({ target, code, output: Buffer.concat(output) }));
  });
}

// The web (web/ → web/dist) is built once here, before any file runs, when it is missing or
// stale: the browser tests and every spawned `mipay up` then find it current (src/web/build.ts).
{
  const built = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
    "await (await import('./src/web/build.ts')).ensureWebBuilt({ log: (line) => console.log(line) });"], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const results = await Promise.all(targets.map((target) => run(target)));
// A whole run only: the scan needs every file's log lines.
if (only.length === 0) {
  results.push(await run({ name: 'captured logs', env: { MIPAY_TEST_LOG_DIR: logDir } }, ['src/infra/log/captured-logs.scan.ts']));
}
let failed = false;
let passedTotal = 0;
let failedTotal = 0;
for (const { target, code, output } of results) {
  process.stdout.write(`\n# ${target.name === 'captured logs' ? 'scan of the captured logs' : `suite on ${target.name}: ${files.length} test files`}\n`);
  process.stdout.write(output);
  const text = output.toString('utf8');
  passedTotal += Number(text.match(/^ℹ pass (\d+)$/m)?.[1] ?? 0);
  failedTotal += Number(text.match(/^ℹ fail (\d+)$/m)?.[1] ?? 0);
  if (code !== 0) failed = true;
}
// A run that exits non-zero without a failing test (a crashed file) still counts as a failure.
if (failed && failedTotal === 0) failedTotal = 1;
process.stdout.write(`\n${results.map((r) => r.target.name).join(' + ')}: ${passedTotal} passed, ${failedTotal} failed\n`);
rmSync(scratch, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
