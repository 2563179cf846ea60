import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;

test('`mipay demo --transit` runs issue → top-up → metro entry and exit offline → upload → settlement → history', {
  skip: process.env.MIPAY_TEST_DB === 'postgres' ? 'runs once, in the PGlite suite' : false,
}, () => {
  const result = spawnSync(process.execPath, [bin, 'demo', '--transit'], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  const out = result.stdout;
  assert.match(out, /balance on the card: ¥50\.00/);
  assert.match(out, /exit gate: charged ¥5\.00 by distance, balance ¥45\.00/);
  assert.match(out, /entry gate: settled 1, refused 0\n {3}exit gate: settled 1, refused 0/);
  assert.match(out, /purchase -¥5\.00 {2}settled {2}苹果园 → 西单/);
  assert.match(out, /load {5}\+¥50\.00 {2}settled/);
});
