// The card verification value printed on a card (CVN2 for UnionPay, CVV2 for Visa, CVC2 for
// Mastercard): the classic IBM 3624-style CVV algorithm under a double-length card verification
// key, with service code 000 for the printed value.
import assert from 'node:assert/strict';
import { desEncrypt, encryptEcb, xorBuffers } from './algorithms.ts';
import { assertKey } from './algorithms.ts';

/** Service code that gives the printed value (CVV2 / CVC2 / CVN2) rather than the magnetic stripe's CVV. */
export const PRINTED_VALUE_SERVICE_CODE = '000';

/**
 * CVV algorithm (Visa, also used for UnionPay CVN2): PAN ‖ expiry YYMM ‖ service code, right-
 * padded with 0 to 32 digits, split into blocks B1, B2; X = 3DES_CVK(DES_CVK-A(B1) ⊕ B2); the
 * result is the first `digits` decimal digits of X's hex, then its letters A–F minus 10
 * (decimalisation). Returns the digits as text.
 */
export function cardVerificationValue(cvk: Buffer, pan: string, expiryYymm: string, serviceCode: string, digits = 3): string {
  assertKey('tdes', cvk, 'cvk', [16]);
  assert.match(pan, /^[0-9]{12,19}$/);
  assert.match(expiryYymm, /^[0-9]{4}$/);
  assert.match(serviceCode, /^[0-9]{3}$/);
  const data = `${pan}${expiryYymm}${serviceCode}`.padEnd(32, '0').slice(0, 32);
  const b1 = Buffer.from(data.slice(0, 16), 'hex');
  const b2 = Buffer.from(data.slice(16), 'hex');
  const x = encryptEcb('tdes', cvk, xorBuffers(desEncrypt(cvk.subarray(0, 8), b1), b2)).toString('hex').toUpperCase();
  const numbers = [...x].filter((c) => c <= '9').join('');
  const letters = [...x].filter((c) => c >= 'A').map((c) => String(c.charCodeAt(0) - 55 - 10)).join('');
  return (numbers + letters).slice(0, digits);
}
