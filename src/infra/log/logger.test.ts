import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, scrubSecrets, scrubText } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } });
  return { lines, logger: createLogger({ name: 't', level: 'debug', destination }) };
}

test('card numbers and ID numbers inside free text are masked', () => {
  assert.equal(scrubText('card 6217001234567890123 declined'), 'card 621700******0123 declined');
  assert.equal(scrubText('pan=6225751234567890;'), 'pan=622575******7890;');
  assert.equal(scrubText('id 11010519491231002X ok'), 'id 110105********#### ok');
  assert.equal(scrubText('amount 100000 fen at 2026-11-22'), 'amount 100000 fen at 2026-11-22');
});

test('secret fields are redacted by name, at any depth', () => {
  const scrubbed = scrubSecrets({
    password: 'hunter2hunter2', payment_password: '135790', sms_code: '123456', card_number: '6217001234567890123',
    nested: { idNumber: '11010519491231002X', partner_key: 'bpk_x', list: [{ pin: '1234' }] },
    amount_fen: 10n, keep: 'visible',
  }) as Record<string, any>;
  assert.equal(scrubbed.password, '[redacted]');
  assert.equal(scrubbed.payment_password, '[redacted]');
  assert.equal(scrubbed.sms_code, '[redacted]');
  assert.equal(scrubbed.card_number, '[redacted]');
  assert.equal(scrubbed.nested.idNumber, '[redacted]');
  assert.equal(scrubbed.nested.partner_key, '[redacted]');
  assert.equal(scrubbed.nested.list[0].pin, '[redacted]');
  assert.equal(scrubbed.amount_fen, '10');
  assert.equal(scrubbed.keep, 'visible');
});

test('what the logger writes never holds the secrets it was given', async () => {
  const { lines, logger } = capture();
  logger.info({ pan: '6217001234567890123', body: { password: 'p4ssw0rd!' } }, 'charging 6217001234567890123 for 11010519491231002X');
  logger.error({ err: new Error('bank said no for 6225751234567890') }, 'failed');
  logger.flush();
  await new Promise((resolve) => setImmediate(resolve));
  const text = lines.join('');
  for (const secret of ['6217001234567890123', 'p4ssw0rd!', '11010519491231002X', '6225751234567890']) {
    assert.equal(text.includes(secret), false, `${secret} leaked`);
  }
  assert.match(text, /621700\*+0123/);
  assert.match(text, /"code"|failed/);
});

test('phone numbers are masked like card numbers: by field name whatever their shape, and by shape in any text', () => {
  assert.equal(scrubText('code sent to 13800138000.'), 'code sent to 138****8000.');
  assert.equal(scrubText('/v1/sandbox/sms?phone=15912345678&limit=1'), '/v1/sandbox/sms?phone=159****5678&limit=1');
  assert.equal(scrubText('rrn 000000000123 amount 12345678901 id 213800138000'), 'rrn 000000000123 amount 12345678901 id 213800138000');
  const scrubbed = scrubSecrets({
    phone: '13800138000', reserved_phone: '+86 139-1234-5678', payeePhone: '18612345678', accountPhone: '12', phone_masked: '138****8000',
    nested: { mobile: '13512345678' }, phones: { count: 2 },
  }) as Record<string, any>;
  assert.deepEqual(scrubbed, {
    phone: '138****8000', reserved_phone: '+86****5678', payeePhone: '186****5678', accountPhone: '[redacted]', phone_masked: '138****8000',
    nested: { mobile: '135****5678' }, phones: { count: 2 },
  });
});
