import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkOtp, hashOtp, otpPolicy } from './otp.ts';

describe('one-time codes', () => {
  const pepper = randomBytes(32);
  const binding = { pepper, subject: ['smc_1', '13800138000', 'sign_up'] };
  const record = (code: string) => ({
    id: 'smc_1', code_hash: hashOtp(binding, code), expires_at: new Date(Date.now() + otpPolicy.validityMs), wrong_tries: 0, consumed_at: null,
  });

  it('match only under the same pepper, record, phone and purpose', () => {
    const stored = record('123456');
    assert.deepEqual(checkOtp(stored, '123456', binding), { outcome: 'ok' });
    assert.equal(checkOtp(stored, '123457', binding).outcome, 'wrong');
    assert.equal(checkOtp(stored, '123456', { ...binding, pepper: randomBytes(32) }).outcome, 'wrong');
    assert.equal(checkOtp(stored, '123456', { ...binding, subject: ['smc_1', '13800138001', 'sign_up'] }).outcome, 'wrong');
    assert.equal(checkOtp(stored, '123456', { ...binding, subject: ['smc_1', '13800138000', 'password_reset'] }).outcome, 'wrong');
  });

  it('refuse a short pepper and a subject that could run into the next field', () => {
    assert.throws(() => hashOtp({ pepper: randomBytes(16), subject: ['a'] }, '123456'));
    assert.throws(() => hashOtp({ pepper, subject: ['a|b'] }, '123456'));
  });
});
