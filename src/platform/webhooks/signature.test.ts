import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { signatureHeaderValue, verifySignature } from './signature.ts';

const secret = 'whsec_test_0123456789';
const payload = '{"type":"order.paid","data":{"id":"ord_1"}}';
const now = new Date('2026-11-22T04:00:00Z');

test('a signature is HMAC-SHA256 over "<t>.<body>" and verifies within 300 s', () => {
  const header = signatureHeaderValue(secret, payload, now);
  const t = Math.floor(now.getTime() / 1000);
  assert.equal(header, `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex')}`);
  assert.deepEqual(verifySignature({ payload, header, secret, now }), { ok: true, timestampS: t });
  assert.equal(verifySignature({ payload, header, secret, now: new Date(now.getTime() + 300_000) }).ok, true);
});

test('refuses a changed body, another secret, a stale or future timestamp, a malformed header', () => {
  const header = signatureHeaderValue(secret, payload, now);
  assert.deepEqual(verifySignature({ payload: payload.replace('ord_1', 'ord_2'), header, secret, now }), { ok: false, reason: 'signature_mismatch' });
  assert.deepEqual(verifySignature({ payload, header, secret: 'whsec_other', now }), { ok: false, reason: 'signature_mismatch' });
  assert.deepEqual(verifySignature({ payload, header, secret, now: new Date(now.getTime() + 301_000) }), { ok: false, reason: 'timestamp_outside_tolerance' });
  assert.deepEqual(verifySignature({ payload, header, secret, now: new Date(now.getTime() - 301_000) }), { ok: false, reason: 'timestamp_outside_tolerance' });
  assert.deepEqual(verifySignature({ payload, header: undefined, secret, now }), { ok: false, reason: 'malformed_header' });
  assert.deepEqual(verifySignature({ payload, header: 't=abc,v1=00', secret, now }), { ok: false, reason: 'malformed_header' });
});

test('the timestamp check cannot be switched off', () => {
  const header = signatureHeaderValue(secret, payload, now);
  assert.throws(() => verifySignature({ payload, header, secret, now, toleranceS: 0 }), RangeError);
  assert.throws(() => verifySignature({ payload, header, secret, now, toleranceS: Number.NaN }), RangeError);
});

test('during a secret roll either signature is accepted', () => {
  const t = Math.floor(now.getTime() / 1000);
  const oldSig = createHmac('sha256', 'whsec_old').update(`${t}.${payload}`).digest('hex');
  const newSig = createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');
  assert.equal(verifySignature({ payload, header: `t=${t},v1=${oldSig},v1=${newSig}`, secret, now }).ok, true);
});
