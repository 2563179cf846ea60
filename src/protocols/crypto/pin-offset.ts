import assert from 'node:assert/strict';
import { timingSafeEqual } from 'node:crypto';
import { encryptEcb } from './algorithms.ts';

/** The decimalisation table IBM publishes as the 3624 default: hex digit d → d mod 10. */
export const IBM_3624_DECIMALIZATION_TABLE = '0123456789012345';

export interface PinOffsetParameters {
  /** PIN verification key: a double- or triple-length 3DES key (16 or 24 bytes). */
  pvk: Buffer;
  /** 1 to 16 hex digits of account data, padded on the right with `pad` to 16. */
  validationData: string;
  pad: string;
  decimalizationTable: string;
}

/**
 * IBM 3624 PIN offset generation (IBM 3624 Programmer's Guide; IBM CCA Basic Services,
 * "IBM 3624 PIN Offset" calculation method, IBM-PINO; ISO 9564-1 lists PIN offsets as an
 * accepted PIN verification method). The validation data is enciphered under the PVK with
 * 3DES-ECB; the first `pin.length` hex digits of the result, decimalised, are the natural PIN;
 * the offset is (PIN − natural PIN) digit by digit, modulo 10. A bank keeps only the offset:
 * without the PVK the offset says nothing about the PIN, because the natural PIN is unknown.
 */
export function ibm3624Offset(parameters: PinOffsetParameters, pin: string): string {
  assert.match(pin, /^[0-9]{4,16}$/, 'a PIN is 4 to 16 digits');
  const natural = naturalPin(parameters, pin.length);
  return [...pin].map((digit, i) => String((Number(digit) - Number(natural[i]) + 10) % 10)).join('');
}

/** IBM 3624 PIN offset verification: recomputes the offset of `pin` and compares it in constant time. */
export function ibm3624OffsetMatches(parameters: PinOffsetParameters, pin: string, offset: string): boolean {
  if (!/^[0-9]{4,16}$/.test(pin) || pin.length !== offset.length) return false;
  return timingSafeEqual(Buffer.from(ibm3624Offset(parameters, pin)), Buffer.from(offset));
}

/** The natural PIN of `lengthDigits` digits: decimalised 3DES-ECB of the padded validation data under the PVK. */
export function ibm3624NaturalPin(parameters: PinOffsetParameters, lengthDigits: number): string {
  return naturalPin(parameters, lengthDigits);
}

function naturalPin(parameters: PinOffsetParameters, lengthDigits: number): string {
  assert.ok([16, 24].includes(parameters.pvk.length), 'a PVK is a double- or triple-length 3DES key');
  assert.match(parameters.decimalizationTable, /^[0-9]{16}$/);
  assert.match(parameters.pad, /^[0-9A-Fa-f]$/);
  assert.match(parameters.validationData, /^[0-9A-Fa-f]{1,16}$/);
  assert.ok(lengthDigits >= 4 && lengthDigits <= 16);
  const block = Buffer.from(parameters.validationData.padEnd(16, parameters.pad), 'hex');
  const enciphered = encryptEcb('tdes', parameters.pvk, block).toString('hex').toUpperCase();
  const table = parameters.decimalizationTable;
  return [...enciphered.slice(0, lengthDigits)].map((hex) => table[parseInt(hex, 16)]!).join('');
}
