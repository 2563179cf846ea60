import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CRYPTOGRAM_ALGORITHMS,
  blockSizeOf,
  decryptEcb,
  desDecrypt,
  desEncrypt,
  encryptCbc,
  encryptEcb,
  sm4DecryptBlock,
  sm4EncryptBlock,
  xorBuffers,
} from './algorithms.ts';
import { CryptoInputError } from './errors.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('SM4 block cipher (GM/T 0002-2012)', () => {
  // GM/T 0002-2012 Appendix A (= GB/T 32907-2016 Appendix A), example 1.
  const key = hex('0123456789ABCDEFFEDCBA9876543210');

  it('encrypts the standard example 1', () => {
    assert.equal(sm4EncryptBlock(key, key).toString('hex').toUpperCase(), '681EDF34D206965E86B3E94F536E4246');
  });

  it('decrypts it back', () => {
    assert.deepEqual(sm4DecryptBlock(key, hex('681EDF34D206965E86B3E94F536E4246')), key);
  });

  it('matches the standard example 2: 1,000,000 encryptions under the same key', () => {
    // One cipher object in ECB without padding returns each block from update() at once.
    const cipher = createCipheriv('sm4-ecb', key, null);
    cipher.setAutoPadding(false);
    let block = Buffer.from(key);
    for (let i = 0; i < 1_000_000; i++) block = cipher.update(block);
    assert.equal(block.toString('hex').toUpperCase(), '595298C7C6FD271F0402F804C33D3F66');
    // The public function agrees with the loop's first step.
    assert.deepEqual(sm4EncryptBlock(key, key), createCipheriv('sm4-ecb', key, null).update(key));
  });

  it('refuses a block that is not 16 bytes with a typed error', () => {
    assert.throws(() => sm4EncryptBlock(key, Buffer.alloc(15)), { name: 'CryptoInputError', code: 'data_length' });
  });
});

describe('single DES through 3DES with equal keys', () => {
  // The FIPS 46 worked example (Stinson, Cryptography: Theory and Practice).
  it('encrypts 0123456789ABCDEF under 133457799BBCDFF1 to 85E813540F0AB405', () => {
    const out = desEncrypt(hex('133457799BBCDFF1'), hex('0123456789ABCDEF'));
    assert.equal(out.toString('hex').toUpperCase(), '85E813540F0AB405');
    assert.deepEqual(desDecrypt(hex('133457799BBCDFF1'), out), hex('0123456789ABCDEF'));
  });
});

describe('ECB / CBC', () => {
  it('round-trips whole blocks for every algorithm', () => {
    for (const algorithm of CRYPTOGRAM_ALGORITHMS) {
      const key = Buffer.alloc(16, 0x5a);
      const data = Buffer.alloc(blockSizeOf(algorithm) * 3, 0x11);
      assert.deepEqual(decryptEcb(algorithm, key, encryptEcb(algorithm, key, data)), data);
    }
  });

  it('treats a double-length 3DES key as K1||K2||K1', () => {
    const k = hex('0123456789ABCDEFFEDCBA9876543210');
    const triple = Buffer.concat([k, k.subarray(0, 8)]);
    assert.deepEqual(encryptEcb('tdes', k, Buffer.alloc(8)), encryptEcb('tdes', triple, Buffer.alloc(8)));
  });

  it('chains CBC blocks (second block of CBC = ECB of block xor first ciphertext)', () => {
    const key = Buffer.alloc(16, 7);
    const data = Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 2)]);
    const cbc = encryptCbc('aes', key, Buffer.alloc(16), data);
    const first = encryptEcb('aes', key, data.subarray(0, 16));
    assert.deepEqual(cbc.subarray(0, 16), first);
    assert.deepEqual(cbc.subarray(16), encryptEcb('aes', key, xorBuffers(first, data.subarray(16))));
  });

  it('refuses wrong key lengths and partial blocks with typed errors', () => {
    assert.throws(() => encryptEcb('sm4', Buffer.alloc(24), Buffer.alloc(16)), CryptoInputError);
    assert.throws(() => encryptEcb('tdes', Buffer.alloc(8), Buffer.alloc(8)), { code: 'key_length', param: 'key' });
    assert.throws(() => encryptEcb('aes', Buffer.alloc(16), Buffer.alloc(15)), { code: 'data_length' });
    assert.throws(() => encryptEcb('aes', Buffer.alloc(16), Buffer.alloc(0)), { code: 'data_length' });
    assert.throws(() => encryptCbc('aes', Buffer.alloc(16), Buffer.alloc(8), Buffer.alloc(16)), { code: 'data_length', param: 'iv' });
  });
});

describe('xorBuffers', () => {
  it('xors byte by byte', () => {
    assert.deepEqual(xorBuffers(hex('041234FFFFFFFFFF'), hex('0000000123456200')), hex('041234FEDCBA9DFF'));
  });

  it('asserts equal lengths (a programmer error)', () => {
    assert.throws(() => xorBuffers(Buffer.alloc(2), Buffer.alloc(3)), { name: 'AssertionError' });
  });
});
