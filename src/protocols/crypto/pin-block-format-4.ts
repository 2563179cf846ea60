// ISO 9564-1:2017 PIN block format 4, the 16-byte format for AES zone PIN keys.
// The PIN field and the PAN field are bound through two AES encryptions, so the enciphered
// block changes with the PAN and with 8 bytes of fresh randomness on every encipherment.

import { randomBytes } from 'node:crypto';
import { assertKey, decryptEcb, encryptEcb, xorBuffers } from './algorithms.ts';
import { CryptoInputError, PIN_DIGITS_MAX, PIN_DIGITS_MIN, assertLength, assertPan, assertPin } from './errors.ts';

const FIELD_BYTES = 16;
const RANDOM_FILL_BYTES = 8;

/**
 * Plain text PIN field, ISO 9564-1:2017 format 4: control '4', PIN length, PIN digits, fill
 * 'A' up to nibble 16, then 8 random bytes. `randomFill` exists for the standard's test
 * vectors; production callers leave it out and get crypto.randomBytes.
 */
export function buildPinFieldFormat4(pin: string, randomFill: Buffer = randomBytes(RANDOM_FILL_BYTES)): Buffer {
  assertPin(pin);
  assertLength(randomFill, RANDOM_FILL_BYTES, 'randomFill');
  const nibbles = ('4' + pin.length.toString(16) + pin).padEnd(16, 'A');
  return Buffer.concat([Buffer.from(nibbles, 'hex'), randomFill]);
}

/**
 * Plain text PAN field, ISO 9564-1:2017 format 4: one nibble M = PAN length - 12 (0 when the
 * PAN is shorter than 12 digits, which are then right-justified with '0's), the PAN digits,
 * then '0' nibbles to 16 bytes.
 */
export function buildPanFieldFormat4(pan: string): Buffer {
  assertPan(pan);
  const m = pan.length < 12 ? 0 : pan.length - 12;
  const nibbles = (m.toString(16) + pan.padStart(12, '0')).padEnd(FIELD_BYTES * 2, '0');
  return Buffer.from(nibbles, 'hex');
}

/** Reads the PIN out of a plain text format 4 PIN field, checking control, length and fill. */
export function parsePinFieldFormat4(pinField: Buffer): string {
  assertLength(pinField, FIELD_BYTES, 'pinField');
  const nibbles = pinField.subarray(0, 8).toString('hex').toUpperCase();
  if (nibbles[0] !== '4') {
    throw new CryptoInputError('pin_block_format', 'PIN field control nibble is not 4 (ISO 9564 format 4)', 'pinBlock');
  }
  const pinLength = parseInt(nibbles[1]!, 16);
  if (pinLength < PIN_DIGITS_MIN || pinLength > PIN_DIGITS_MAX) {
    throw new CryptoInputError('pin_block_format', 'PIN field length nibble is outside 4..12', 'pinBlock');
  }
  const pin = nibbles.slice(2, 2 + pinLength);
  if (!/^\d+$/.test(pin)) {
    throw new CryptoInputError('pin_block_format', 'PIN field holds a non-decimal PIN digit', 'pinBlock');
  }
  if (!/^A*$/.test(nibbles.slice(2 + pinLength))) {
    throw new CryptoInputError('pin_block_format', "PIN field fill is not 'A'", 'pinBlock');
  }
  return pin;
}

/**
 * Enciphers a PIN in ISO 9564-1:2017 format 4 under an AES key: A := AES(K)[PIN field],
 * B := A xor PAN field, result := AES(K)[B]. Returns 16 bytes.
 */
export function encipherPinBlockFormat4(key: Buffer, pin: string, pan: string, randomFill?: Buffer): Buffer {
  assertKey('aes', key, 'zonePinKey');
  const pinField = buildPinFieldFormat4(pin, randomFill);
  const panField = buildPanFieldFormat4(pan);
  const intermediateA = encryptEcb('aes', key, pinField);
  return encryptEcb('aes', key, xorBuffers(intermediateA, panField));
}

/** Deciphers an ISO 9564-1:2017 format 4 PIN block and returns the PIN (the inverse steps). */
export function decipherPinBlockFormat4(key: Buffer, pinBlock: Buffer, pan: string): string {
  assertKey('aes', key, 'zonePinKey');
  assertLength(pinBlock, FIELD_BYTES, 'pinBlock');
  const panField = buildPanFieldFormat4(pan);
  const intermediateB = decryptEcb('aes', key, pinBlock);
  return parsePinFieldFormat4(decryptEcb('aes', key, xorBuffers(intermediateB, panField)));
}
