#!/usr/bin/env node
// Runs the whole suite with Node's own test runner (tsx for TypeScript): once on the embedded
// PGlite database, and once more on a real PostgreSQL when TEST_DATABASE_URL is set.
// Node 20's `--test` takes no globs, so the test files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

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
const targets = [{ name: 'PGlite', env: { MIPAY_TEST_DB: 'pglite' } }];
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
process.exit(failed ? 1 : 0);
