import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatYuan, localeOf, triesLeft, validationMessage } from './validation-message.ts';

test('amounts read as yuan; plurals and the caller\'s language are right', () => {
  assert.equal(formatYuan(100_000_000), '¥1,000,000');
  assert.equal(formatYuan(2350n), '¥23.50');
  assert.equal(formatYuan(5), '¥0.05');
  assert.equal(triesLeft(1), '1 try left');
  assert.equal(triesLeft(3), '3 tries left');
  assert.equal(triesLeft(2, 'zh'), '还剩 2 次机会');
  assert.equal(localeOf('zh-CN,zh;q=0.9,en;q=0.8'), 'zh');
  assert.equal(localeOf('en-US,zh;q=0.5'), 'en');
  assert.equal(localeOf(undefined), 'en');
});

test('bounds on money are said in yuan and fen; the library\'s own bound on integers is not shown raw', () => {
  const tooBig = { keyword: 'too_big', params: { origin: 'number', maximum: 100_000_000, inclusive: true }, message: 'Too big' };
  assert.equal(validationMessage(tooBig, 'amount_fen', 1e9, 'en'), '`amount_fen` must be at most ¥1,000,000 (100000000 fen).');
  assert.equal(validationMessage(tooBig, 'amount_fen', 1e9, 'zh'), '`amount_fen` 最多为 ¥1,000,000 (100000000 分)。');
  const safe = { keyword: 'too_big', params: { origin: 'number', maximum: 9007199254740991, inclusive: true }, message: 'Too big' };
  assert.equal(validationMessage(safe, 'count', 1e20, 'en'), '`count` must be at most 9007199254740991.');
  const pattern = { keyword: 'invalid_format', params: { format: 'regex', pattern: '^[0-9]{6}$' }, message: '6 digits' };
  assert.equal(validationMessage(pattern, 'sms_code', '12', 'en'), '`sms_code` must be 6 digits.');
  assert.equal(validationMessage(pattern, 'sms_code', '12', 'zh'), '`sms_code` 必须是6 位数字。');
  const choice = { keyword: 'invalid_value', params: { values: ['sign_up', 'payment'] }, message: 'Invalid option' };
  assert.equal(validationMessage(choice, 'purpose', 'x', 'en'), '`purpose` must be one of: sign_up, payment.');
});
