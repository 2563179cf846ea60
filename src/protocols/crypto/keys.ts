// Key housekeeping: DES parity, random key generation and key check values.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { assertKey, blockSizeOf, encryptEcb, keyLengthsOf, type CryptogramAlgorithm } from './algorithms.ts';

function hasOddBitCount(byte: number): boolean {
  let bits = 0;
  for (let b = byte; b !== 0; b >>= 1) bits += b & 1;
  return bits % 2 === 1;
}

/**
 * DES odd parity adjustment (FIPS 46-3, "Key": the low bit of each byte is a parity bit set
 * so the byte has an odd number of 1 bits). EMV Book 2 A1.3.1 and A1.4.1 apply it to derived
 * 3DES keys. Returns a new buffer; the input is left untouched.
 */
export function adjustDesParity(key: Buffer): Buffer {
  const out = Buffer.from(key);
  for (let i = 0; i < out.length; i++) {
    const high7 = out[i]! & 0xfe;
    out[i] = hasOddBitCount(high7) ? high7 : high7 | 1;
  }
  return out;
}

/** True when every byte has odd parity (FIPS 46-3). */
export function hasOddDesParity(key: Buffer): boolean {
  for (const byte of key) if (!hasOddBitCount(byte)) return false;
  return true;
}

/**
 * A fresh random key from crypto.randomBytes: 3DES keys come out double length with odd
 * parity (ANSI X9.24-1 practice), AES and SM4 keys are 16 bytes unless `lengthBytes` asks
 * for another length the algorithm accepts.
 */
export function generateKey(algorithm: CryptogramAlgorithm, lengthBytes = 16): Buffer {
  assert.ok(keyLengthsOf(algorithm).includes(lengthBytes), `${algorithm} has no ${lengthBytes}-byte keys`);
  const key = randomBytes(lengthBytes);
  return algorithm === 'tdes' ? adjustDesParity(key) : key;
}

/**
 * Key check value: the leftmost `lengthBytes` of the key's encryption of one all-zero block
 * (ANSI X9.24-1 legacy KCV; EMV tooling prints 2 or 3 bytes). For AES and SM4 we keep the same
 * encrypt-zeros form; note ANSI X9.24-1:2017 prefers a CMAC-based KCV for AES.
 */
export function keyCheckValue(algorithm: CryptogramAlgorithm, key: Buffer, lengthBytes = 3): Buffer {
  const n = blockSizeOf(algorithm);
  assert.ok(Number.isInteger(lengthBytes) && lengthBytes >= 1 && lengthBytes <= n, 'KCV length out of range');
  assertKey(algorithm, key);
  return encryptEcb(algorithm, key, Buffer.alloc(n)).subarray(0, lengthBytes);
}
