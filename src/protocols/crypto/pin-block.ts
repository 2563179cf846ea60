// PIN blocks: how a PIN pad hands a PIN to the acquirer and on to the issuer, encrypted under a
// zone PIN key (ZPK), and how the issuer gets it back.
//
//   'tdes' — ISO 9564-1 format 0 (ANSI X9.8), 8 bytes, 3DES-ECB under the ZPK.
//   'aes'  — ISO 9564-1:2017 format 4, 16 bytes (format 0 is defined for 8-byte blocks only).
//   'sm4'  — format 0 carried in one 16-byte SM4 block: the 8-byte format 0 block followed by
//            'FF'x8, SM4-ECB under the ZPK. UnionPay's SM4 PIN block rules were not available
//            to check against and no public vector was found, so this layout is a project
//            convention, tested by round trip only; revisit before talking to an outside SM4 HSM.

import assert from 'node:assert/strict';
import { assertKey, decryptEcb, encryptEcb, xorBuffers, type CryptogramAlgorithm } from './algorithms.ts';
import { CryptoInputError, PIN_DIGITS_MAX, PIN_DIGITS_MIN, assertLength, assertPan, assertPin } from './errors.ts';
import { decipherPinBlockFormat4, encipherPinBlockFormat4 } from './pin-block-format-4.ts';

export const PIN_BLOCK_FORMAT_0_BYTES = 8;

/** The ISO 9564-1 format each zone key family uses, e.g. for ISO 8583 field 53. */
export const PIN_BLOCK_FORMAT_BY_ALGORITHM = {
  tdes: 'iso-9564-format-0',
  aes: 'iso-9564-format-4',
  sm4: 'iso-9564-format-0-in-sm4-block',
} as const satisfies Record<CryptogramAlgorithm, string>;

const SM4_FILLER = Buffer.alloc(8, 0xff);

/**
 * ISO 9564-1 format 0 PAN field: '0000' then the 12 rightmost PAN digits excluding the check
 * digit (right-justified with '0's if the PAN has fewer), packed as 8 bytes.
 */
export function panFieldFormat0(pan: string): Buffer {
  assertPan(pan);
  const withoutCheckDigit = pan.slice(0, -1);
  return Buffer.from(withoutCheckDigit.slice(-12).padStart(16, '0'), 'hex');
}

/**
 * Clear PIN block, ISO 9564-1 format 0: PIN field ('0', PIN length, PIN digits, 'F' fill to
 * 16 nibbles) XOR the PAN field. Example: PIN 1234, PAN 4000001234562000 gives
 * 041234FFFFFFFFFF xor 0000000123456200 = 041234FEDCBA9DFF.
 */
export function buildPinBlockFormat0(pin: string, pan: string): Buffer {
  assertPin(pin);
  const pinField = Buffer.from(('0' + pin.length.toString(16) + pin).padEnd(16, 'F'), 'hex');
  return xorBuffers(pinField, panFieldFormat0(pan));
}

/**
 * Recovers the PIN from a clear ISO 9564-1 format 0 block given the PAN: checks the control
 * nibble is 0, the length is 4..12, the PIN digits are decimal and the fill is all 'F'.
 * Any failure is a CryptoInputError 'pin_block_format' (which also catches a wrong PAN or key
 * most of the time); the message never echoes PIN digits.
 */
export function parsePinBlockFormat0(pinBlock: Buffer, pan: string): string {
  assertLength(pinBlock, PIN_BLOCK_FORMAT_0_BYTES, 'pinBlock');
  const nibbles = xorBuffers(pinBlock, panFieldFormat0(pan)).toString('hex').toUpperCase();
  if (nibbles[0] !== '0') {
    throw new CryptoInputError('pin_block_format', 'PIN block control nibble is not 0 (ISO 9564 format 0)', 'pinBlock');
  }
  const pinLength = parseInt(nibbles[1]!, 16);
  if (pinLength < PIN_DIGITS_MIN || pinLength > PIN_DIGITS_MAX) {
    throw new CryptoInputError('pin_block_format', 'PIN block length nibble is outside 4..12', 'pinBlock');
  }
  const pin = nibbles.slice(2, 2 + pinLength);
  if (!/^\d+$/.test(pin)) {
    throw new CryptoInputError('pin_block_format', 'PIN block holds a non-decimal PIN digit', 'pinBlock');
  }
  if (!/^F*$/.test(nibbles.slice(2 + pinLength))) {
    throw new CryptoInputError('pin_block_format', "PIN block fill is not 'F'", 'pinBlock');
  }
  return pin;
}

/**
 * Encrypts a PIN for the given PAN under a zone PIN key (ISO 9564-1; format per algorithm as
 * in the file header): 8 bytes for 'tdes', 16 bytes for 'aes' and 'sm4'.
 */
export function encryptPinBlock(algorithm: CryptogramAlgorithm, zonePinKey: Buffer, pin: string, pan: string): Buffer {
  assertKey(algorithm, zonePinKey, 'zonePinKey');
  switch (algorithm) {
    case 'tdes':
      return encryptEcb('tdes', zonePinKey, buildPinBlockFormat0(pin, pan));
    case 'aes':
      return encipherPinBlockFormat4(zonePinKey, pin, pan);
    case 'sm4':
      return encryptEcb('sm4', zonePinKey, Buffer.concat([buildPinBlockFormat0(pin, pan), SM4_FILLER]));
    default:
      return assert.fail(`unknown algorithm ${String(algorithm)}`);
  }
}

/**
 * Decrypts a PIN block made by `encryptPinBlock` and returns the PIN, validating the format
 * (ISO 9564-1). A wrong key or PAN surfaces as CryptoInputError 'pin_block_format'.
 */
export function decryptPinBlock(algorithm: CryptogramAlgorithm, zonePinKey: Buffer, encryptedPinBlock: Buffer, pan: string): string {
  assertKey(algorithm, zonePinKey, 'zonePinKey');
  switch (algorithm) {
    case 'tdes':
      assertLength(encryptedPinBlock, PIN_BLOCK_FORMAT_0_BYTES, 'encryptedPinBlock');
      return parsePinBlockFormat0(decryptEcb('tdes', zonePinKey, encryptedPinBlock), pan);
    case 'aes':
      assertLength(encryptedPinBlock, 16, 'encryptedPinBlock');
      return decipherPinBlockFormat4(zonePinKey, encryptedPinBlock, pan);
    case 'sm4': {
      assertLength(encryptedPinBlock, 16, 'encryptedPinBlock');
      const clear = decryptEcb('sm4', zonePinKey, encryptedPinBlock);
      if (!clear.subarray(8).equals(SM4_FILLER)) {
        throw new CryptoInputError('pin_block_format', "SM4 PIN block filler is not 'FF'x8", 'encryptedPinBlock');
      }
      return parsePinBlockFormat0(clear.subarray(0, 8), pan);
    }
    default:
      return assert.fail(`unknown algorithm ${String(algorithm)}`);
  }
}
