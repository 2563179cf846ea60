// ISO/IEC 9797-1 padding and CBC-based MAC algorithms.
//
//   retailMac — MAC algorithm 3 ("retail MAC", ANSI X9.19): single DES CBC under K, then the
//               last block through D_K' and E_K. EMV Book 2 A1.2.1 uses it for 3DES cryptograms.
//   cbcMac    — MAC algorithm 1: plain CBC-MAC with the whole block cipher.
//   sm4Mac    — MAC algorithm 1 with SM4 and padding method 2, as PBOC 3.0 / UnionPay SM cards do.

import assert from 'node:assert/strict';
import { assertKey, blockSizeOf, desDecrypt, desEncrypt, encryptCbc, type CryptogramAlgorithm } from './algorithms.ts';
import { CryptoInputError } from './errors.ts';

export type Iso9797PaddingMethod = 1 | 2 | 3;

/** Longest message we MAC in one call; EMV data objects and ISO 8583 messages are far shorter. */
export const MAC_DATA_BYTES_MAX = 64 * 1024;

function assertMacData(data: Buffer): void {
  if (!Buffer.isBuffer(data) || data.length > MAC_DATA_BYTES_MAX) {
    throw new CryptoInputError('data_length', `data must be a Buffer of at most ${MAC_DATA_BYTES_MAX} bytes`, 'data');
  }
}

/**
 * ISO/IEC 9797-1:2011 padding methods for an n-byte block cipher (clause 6.3):
 *   1 — append '00' bytes up to a positive multiple of n (an empty string becomes one zero block);
 *   2 — append '80' then '00' bytes (EMV Book 2 A1.2, ISO/IEC 7816-4 padding);
 *   3 — prefix one block holding the data length in bits, big-endian, then method 1.
 */
export function padIso9797(data: Buffer, blockSize: number, method: Iso9797PaddingMethod): Buffer {
  assert.ok(blockSize === 8 || blockSize === 16, 'block size must be 8 or 16');
  switch (method) {
    case 1: {
      const padLength = data.length === 0 ? blockSize : (blockSize - (data.length % blockSize)) % blockSize;
      return Buffer.concat([data, Buffer.alloc(padLength)]);
    }
    case 2: {
      const withMarker = Buffer.concat([data, Buffer.from([0x80])]);
      return padIso9797(withMarker, blockSize, 1);
    }
    case 3: {
      const lengthBlock = Buffer.alloc(blockSize);
      lengthBlock.writeBigUInt64BE(BigInt(data.length) * 8n, blockSize - 8);
      return Buffer.concat([lengthBlock, padIso9797(data, blockSize, 1)]);
    }
    default:
      return assert.fail(`unknown ISO 9797-1 padding method ${String(method)}`);
  }
}

/**
 * ISO/IEC 9797-1 MAC algorithm 3 with a double-length key K||K' (ANSI X9.19 retail MAC):
 * CBC with single DES under K over all padded blocks, then H := E_K(D_K'(H)). Returns 8 bytes.
 */
export function retailMac(key: Buffer, data: Buffer, padding: Iso9797PaddingMethod): Buffer {
  assertKey('tdes', key, 'key', [16]);
  assertMacData(data);
  const k1 = key.subarray(0, 8);
  const k2 = key.subarray(8, 16);
  const padded = padIso9797(data, 8, padding);
  const chained = desEncrypt(k1, padded, Buffer.alloc(8));
  const last = chained.subarray(chained.length - 8);
  // The output transformation (ISO/IEC 9797-1, 7.3, transformation 3) is what makes the
  // 112-bit key count; without it this would be a single-DES CBC-MAC.
  return desEncrypt(k1, desDecrypt(k2, last));
}

/**
 * ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC, zero IV, no output transformation) with the given
 * block cipher. Returns one full block; callers truncate.
 */
export function cbcMac(algorithm: CryptogramAlgorithm, key: Buffer, data: Buffer, padding: Iso9797PaddingMethod): Buffer {
  assertKey(algorithm, key);
  assertMacData(data);
  const n = blockSizeOf(algorithm);
  const chained = encryptCbc(algorithm, key, Buffer.alloc(n), padIso9797(data, n, padding));
  return chained.subarray(chained.length - n);
}

/**
 * SM4 MAC as used by PBOC 3.0 / UnionPay SM cards: ISO/IEC 9797-1 MAC algorithm 1 with the
 * SM4 block cipher (GM/T 0002-2012) and padding method 2. Returns the full 16-byte block.
 */
export function sm4Mac(key: Buffer, data: Buffer): Buffer {
  return cbcMac('sm4', key, data, 2);
}
