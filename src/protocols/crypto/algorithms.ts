// Block cipher primitives behind every EMV construction in this folder, over node:crypto only.
//
// Three families are supported everywhere through one name:
//   'tdes' — Triple DES (ISO/IEC 18033-3, ANSI X9.52), 8-byte blocks, 16- or 24-byte keys
//   'aes'  — AES (FIPS 197), 16-byte blocks, 16/24/32-byte keys
//   'sm4'  — SM4 (GM/T 0002-2012, GB/T 32907-2016), 16-byte blocks, 16-byte keys
//
// OpenSSL 3 moved single DES to the legacy provider, so `des-ecb` is not available on a stock
// Node 20. Single DES is computed as 3DES with K1 = K2 = K3, which is the same permutation
// (EDE with equal keys: E_K(D_K(E_K(x))) = E_K(x)).

import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { CryptoInputError } from './errors.ts';

export type CryptogramAlgorithm = 'tdes' | 'aes' | 'sm4';

export const CRYPTOGRAM_ALGORITHMS: readonly CryptogramAlgorithm[] = ['tdes', 'aes', 'sm4'];

/** Block length n in bytes (EMV Book 2, Annex A1: n = 8 for 3DES, n = 16 for AES and SM4). */
export function blockSizeOf(algorithm: CryptogramAlgorithm): 8 | 16 {
  switch (algorithm) {
    case 'tdes':
      return 8;
    case 'aes':
    case 'sm4':
      return 16;
    default:
      return assert.fail(`unknown algorithm ${String(algorithm)}`);
  }
}

/** Key lengths in bytes that the algorithm accepts. */
export function keyLengthsOf(algorithm: CryptogramAlgorithm): readonly number[] {
  switch (algorithm) {
    case 'tdes':
      return [16, 24];
    case 'aes':
      return [16, 24, 32];
    case 'sm4':
      return [16];
    default:
      return assert.fail(`unknown algorithm ${String(algorithm)}`);
  }
}

/** Refuses a key whose length the algorithm does not accept, with a typed error. */
export function assertKey(algorithm: CryptogramAlgorithm, key: Buffer, param = 'key', lengths = keyLengthsOf(algorithm)): void {
  if (!Buffer.isBuffer(key) || !lengths.includes(key.length)) {
    throw new CryptoInputError('key_length', `${param} must be ${lengths.join(' or ')} bytes for ${algorithm}`, param);
  }
}

function assertBlocks(algorithm: CryptogramAlgorithm, data: Buffer, param: string): void {
  const n = blockSizeOf(algorithm);
  if (!Buffer.isBuffer(data) || data.length === 0 || data.length % n !== 0) {
    throw new CryptoInputError('data_length', `${param} must be a non-empty multiple of ${n} bytes`, param);
  }
}

// A double-length 3DES key K1||K2 is used as K1||K2||K1 (keying option 2).
function tripleDesKey(key: Buffer): Buffer {
  return key.length === 16 ? Buffer.concat([key, key.subarray(0, 8)]) : key;
}

function opensslCipher(algorithm: CryptogramAlgorithm, key: Buffer, mode: 'ecb' | 'cbc'): { name: string; key: Buffer } {
  switch (algorithm) {
    case 'tdes':
      return { name: mode === 'ecb' ? 'des-ede3-ecb' : 'des-ede3-cbc', key: tripleDesKey(key) };
    case 'aes':
      return { name: `aes-${key.length * 8}-${mode}`, key };
    case 'sm4':
      return { name: `sm4-${mode}`, key };
    default:
      return assert.fail(`unknown algorithm ${String(algorithm)}`);
  }
}

function run(cipher: ReturnType<typeof createCipheriv> | ReturnType<typeof createDecipheriv>, data: Buffer): Buffer {
  // Every construction here pads explicitly (ISO/IEC 9797-1), never with PKCS#7.
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** ECB encryption of whole blocks (ISO/IEC 10116 ECB mode) under `key`. */
export function encryptEcb(algorithm: CryptogramAlgorithm, key: Buffer, data: Buffer): Buffer {
  assertKey(algorithm, key);
  assertBlocks(algorithm, data, 'data');
  const c = opensslCipher(algorithm, key, 'ecb');
  return run(createCipheriv(c.name, c.key, null), data);
}

/** ECB decryption of whole blocks (ISO/IEC 10116 ECB mode) under `key`. */
export function decryptEcb(algorithm: CryptogramAlgorithm, key: Buffer, data: Buffer): Buffer {
  assertKey(algorithm, key);
  assertBlocks(algorithm, data, 'data');
  const c = opensslCipher(algorithm, key, 'ecb');
  return run(createDecipheriv(c.name, c.key, null), data);
}

/** CBC encryption of whole blocks (ISO/IEC 10116 CBC mode); `iv` is one block. */
export function encryptCbc(algorithm: CryptogramAlgorithm, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  assertKey(algorithm, key);
  assertBlocks(algorithm, data, 'data');
  if (!Buffer.isBuffer(iv) || iv.length !== blockSizeOf(algorithm)) {
    throw new CryptoInputError('data_length', `iv must be ${blockSizeOf(algorithm)} bytes`, 'iv');
  }
  const c = opensslCipher(algorithm, key, 'cbc');
  return run(createCipheriv(c.name, c.key, iv), data);
}

/** Single DES (FIPS 46-3) encryption of whole 8-byte blocks, ECB or (with `iv`) CBC, computed as 3DES with K1=K2=K3. */
export function desEncrypt(key8: Buffer, data: Buffer, iv?: Buffer): Buffer {
  assertKey('tdes', key8, 'key', [8]);
  assertBlocks('tdes', data, 'data');
  if (iv !== undefined && (!Buffer.isBuffer(iv) || iv.length !== 8)) {
    throw new CryptoInputError('data_length', 'iv must be 8 bytes', 'iv');
  }
  const k = Buffer.concat([key8, key8, key8]);
  return run(iv === undefined ? createCipheriv('des-ede3-ecb', k, null) : createCipheriv('des-ede3-cbc', k, iv), data);
}

/** Single DES (FIPS 46-3) ECB decryption of whole 8-byte blocks. */
export function desDecrypt(key8: Buffer, data: Buffer): Buffer {
  assertKey('tdes', key8, 'key', [8]);
  assertBlocks('tdes', data, 'data');
  return run(createDecipheriv('des-ede3-ecb', Buffer.concat([key8, key8, key8]), null), data);
}

/** SM4 raw block encryption of one 16-byte block (GM/T 0002-2012, clause 7.1). */
export function sm4EncryptBlock(key: Buffer, block: Buffer): Buffer {
  if (!Buffer.isBuffer(block) || block.length !== 16) {
    throw new CryptoInputError('data_length', 'block must be 16 bytes', 'block');
  }
  return encryptEcb('sm4', key, block);
}

/** SM4 raw block decryption of one 16-byte block (GM/T 0002-2012, clause 7.2). */
export function sm4DecryptBlock(key: Buffer, block: Buffer): Buffer {
  if (!Buffer.isBuffer(block) || block.length !== 16) {
    throw new CryptoInputError('data_length', 'block must be 16 bytes', 'block');
  }
  return decryptEcb('sm4', key, block);
}

/** Byte-wise XOR of two equal-length buffers into a new buffer. */
export function xorBuffers(a: Buffer, b: Buffer): Buffer {
  assert.equal(a.length, b.length, 'xorBuffers needs equal lengths');
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}
