// Hex and BCD helpers shared by the protocol codecs. Card specifications print bytes as hex
// and carry numbers as packed BCD, so every codec in this folder needs the same few
// conversions; keeping them here stops each file from growing its own slightly different copy.
import assert from 'node:assert/strict';

const HEX_PAIRS = /^(?:[0-9A-Fa-f]{2})*$/;
const DIGITS = /^[0-9]*$/;

/** Whether `text` is an even-length hex string once whitespace is removed. */
export function isHex(text: string): boolean {
  return HEX_PAIRS.test(text.replace(/\s+/g, ''));
}

/**
 * Hex text to bytes. Whitespace is ignored so that byte strings can be pasted as the EMV and
 * ISO specifications print them ("6F 2E 84 0E …"). Anything else that is not an even number of
 * hex digits is a programmer error: call `isHex` first on data that comes from outside.
 */
export function fromHex(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  assert.ok(HEX_PAIRS.test(compact), 'fromHex: not an even-length hex string');
  return Buffer.from(compact, 'hex');
}

/** Bytes to uppercase hex, the form EMV tags and card data are written in. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

/** Whether `text` is made of decimal digits only (the empty string counts). */
export function isDigits(text: string): boolean {
  return DIGITS.test(text);
}

/**
 * Decimal digits to packed BCD of `byteLength` bytes, right-justified and left-padded with 0
 * nibbles: EMV Book 3, 4.3 data element format "n" (e.g. Amount, Authorised 9F02 is n12 in 6
 * bytes).
 */
export function digitsToBcd(digits: string, byteLength: number): Buffer {
  assert.ok(isDigits(digits), 'digitsToBcd: not decimal digits');
  assert.ok(Number.isInteger(byteLength) && byteLength >= 0, 'digitsToBcd: bad byte length');
  assert.ok(digits.length <= byteLength * 2, 'digitsToBcd: too many digits for the length');
  return Buffer.from(digits.padStart(byteLength * 2, '0'), 'hex');
}

/**
 * Packed BCD to its decimal digits, keeping leading zeros (EMV Book 3, 4.3 format "n").
 * Returns undefined when a nibble is not a decimal digit, so callers decoding untrusted data
 * can turn that into their own typed error.
 */
export function bcdToDigits(bytes: Uint8Array): string | undefined {
  const hex = toHex(bytes);
  return isDigits(hex) ? hex : undefined;
}

/**
 * Amount in fen to EMV numeric BCD (EMV Book 3, Annex A: 9F02 / 9F03 are n12, 6 bytes).
 * Money is bigint everywhere in this project; a negative or too-large amount is a programmer
 * error.
 */
export function amountToBcd(amountFen: bigint, byteLength = 6): Buffer {
  assert.ok(amountFen >= 0n, 'amountToBcd: negative amount');
  return digitsToBcd(amountFen.toString(), byteLength);
}

/** EMV numeric BCD amount (9F02, 9F03) to fen; undefined when the bytes are not BCD. */
export function bcdToAmount(bytes: Uint8Array): bigint | undefined {
  const digits = bcdToDigits(bytes);
  return digits === undefined ? undefined : BigInt(digits === '' ? '0' : digits);
}
