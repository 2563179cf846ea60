import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { findCardNumbers } from '../infra/log/captured-logs.ts';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;

test('`mipay demo` runs the whole journey to an approved tap, a receipt with the device card number and a refund', {
  // The demo makes its own embedded database whatever the suite runs on: once per run is enough.
  skip: process.env.MIPAY_TEST_DB === 'postgres' ? 'runs once, in the PGlite suite' : false,
}, () => {
  const result = spawnSync(process.execPath, [bin, 'demo'], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  const out = result.stdout;
  assert.match(out, /TYPE {6}SALE 消费[\s\S]*RESPONSE {2}00 approved\n +APPROVED\n +DEVICE VERIFIED/);
  assert.match(out, /TYPE {6}REFUND 退货[\s\S]*REFUNDED/);
  const [, receiptLast4, cardLast4] = out.match(/receipt shows \*\*\*\* ([0-9]{4}) \(the device card\), not the card's \*\*\*\* ([0-9]{4})/) ?? [];
  assert.ok(receiptLast4 && cardLast4 && receiptLast4 !== cardLast4, 'the receipt shows the device card number, not the card\'s');
  assert.match(out, /CARD {6}UnionPay Debit \*\*\*\* ([0-9]{4})/);
  assert.match(out, /bank card account: ¥5000\.00 → ¥4976\.50/);
  assert.match(out, /7\. Refund[\s\S]*bank card account: ¥5000\.00\n/);
  // Issue 12: the history after the tap and the refund, newest first, with merchant, MCC and the token's last 4.
  assert.match(out, new RegExp(`8\\. The wallet's history[^\\n]*\\n +\\S+Z  refund +¥23\\.50  MI HOME BEIJING \\[MCC 5732\\]  \\*\\*\\*\\*${receiptLast4}  `
    + 'approved \\(refund of txn_\\S+\\)\\n +\\S+Z  payment +¥23\\.50  MI HOME BEIJING \\[MCC 5732\\]  \\*\\*\\*\\*[0-9]{4}  approved\\n'));
  assert.deepEqual(findCardNumbers(out), [], 'the demo never prints a full card or token number');
});
