import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isLuhnValid, luhnCheckDigit, maskCardNumber } from './luhn.ts';

test('Luhn: the ISO/IEC 7812-1 Annex B worked example and well-known test PANs', () => {
  assert.equal(luhnCheckDigit('7992739871'), 3); // the classic 79927398713
  assert.equal(isLuhnValid('79927398713'), true);
  assert.equal(isLuhnValid('79927398710'), false);
  assert.equal(isLuhnValid('4111111111111111'), true);
  assert.equal(isLuhnValid('6212345678901265'), true);
  assert.equal(isLuhnValid('6212345678901266'), false);
  assert.equal(isLuhnValid('62123456789012a5'), false);
  assert.equal(isLuhnValid(''), false);
});

test('Luhn: appending the check digit always validates, and any single-digit change breaks it', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9]{12,18}$/), fc.nat(), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
      const full = body + String(luhnCheckDigit(body));
      assert.equal(isLuhnValid(full), true);
      const i = at % full.length;
      const changed = full.slice(0, i) + String((Number(full[i]) + delta) % 10) + full.slice(i + 1);
      assert.equal(isLuhnValid(changed), false);
    }),
  );
});

test('maskCardNumber keeps first 6 and last 4 only', () => {
  assert.equal(maskCardNumber('6217001234567890123'), '621700*********0123');
  assert.equal(maskCardNumber('6225751234567890'), '622575******7890');
});
