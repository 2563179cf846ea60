#!/usr/bin/env node
// Runs the whole suite with Node's own test runner (tsx for TypeScript): once on the embedded
// PGlite database, and once more on a real PostgreSQL when TEST_DATABASE_URL is set.
// Node 20's `--test` takes no globs, so the test files are listed here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

const targets = [{ name: 'PGlite', env: { MIPAY_TEST_DB: 'pglite', MIPAY_TEST_PGLITE_DUMP: dumpPath } }];
if (process.env.TEST_DATABASE_URL) {
  targets.push({ name: 'PostgreSQL', env: { MIPAY_TEST_DB: 'postgres' } });
}

let failed = false;
for (const target of targets) {
  console.log(`\n# suite on ${target.name}: ${files.length} test files`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, ...target.env } },
  );
  if (result.status !== 0) failed = true;
}
rmSync(scratch, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
