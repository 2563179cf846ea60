import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { adjustDesParity, generateKey, hasOddDesParity, keyCheckValue } from './keys.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('DES parity', () => {
  // 0123456789ABCDEFFEDCBA9876543210 is the classic odd-parity test key; 73AD...19F1 is
  // pyemv's published parity-adjusted Option A output (pyemv/kd.py docstring).
  it('recognises odd-parity keys', () => {
    assert.equal(hasOddDesParity(hex('0123456789ABCDEFFEDCBA9876543210')), true);
    assert.equal(hasOddDesParity(hex('73AD54688CEF2934B0979857E3C719F1')), true);
    assert.equal(hasOddDesParity(hex('0123456789ABCDEE')), false);
    assert.equal(hasOddDesParity(hex('00')), false);
  });

  it('sets the parity bit of each byte', () => {
    assert.equal(adjustDesParity(hex('0022446688AACCEE')).toString('hex').toUpperCase(), '0123456789ABCDEF');
  });

  it('adjusts only the low bit of each byte, to odd parity', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 24 }), (bytes) => {
        const key = Buffer.from(bytes);
        const adjusted = adjustDesParity(key);
        assert.equal(hasOddDesParity(adjusted), true);
        for (let i = 0; i < key.length; i++) assert.equal(adjusted[i]! & 0xfe, key[i]! & 0xfe);
        assert.deepEqual(adjustDesParity(adjusted), adjusted);
      }),
    );
  });

  it('leaves its input untouched', () => {
    const key = hex('0000');
    adjustDesParity(key);
    assert.deepEqual(key, hex('0000'));
  });
});

describe('generateKey', () => {
  it('makes double-length odd-parity 3DES keys and 16-byte AES/SM4 keys', () => {
    const tdes = generateKey('tdes');
    assert.equal(tdes.length, 16);
    assert.equal(hasOddDesParity(tdes), true);
    assert.equal(generateKey('aes').length, 16);
    assert.equal(generateKey('aes', 32).length, 32);
    assert.equal(generateKey('sm4').length, 16);
    assert.notDeepEqual(generateKey('sm4'), generateKey('sm4'));
  });

  it('asserts on a length the algorithm has no keys of', () => {
    assert.throws(() => generateKey('sm4', 32), { name: 'AssertionError' });
  });
});

describe('keyCheckValue', () => {
  // pynblock tests/test_tools.py: key_CV('E6F1081FEA4C402CC192B65DE367EC3E', 16) == '212CF9158251CDD3'.
  it('encrypts a zero block and keeps the leftmost bytes', () => {
    const key = hex('E6F1081FEA4C402CC192B65DE367EC3E');
    assert.equal(keyCheckValue('tdes', key).toString('hex').toUpperCase(), '212CF9');
    assert.equal(keyCheckValue('tdes', key, 8).toString('hex').toUpperCase(), '212CF9158251CDD3');
  });

  // pyemv tests/test_kd_hsm.py: the issuer master key 0123...3210 has check digits 08D7.
  it('gives 08D7 for the pyemv issuer master key', () => {
    assert.equal(keyCheckValue('tdes', hex('0123456789ABCDEFFEDCBA9876543210'), 2).toString('hex').toUpperCase(), '08D7');
  });

  // No published KCV vector for SM4 was found; check the definition against the GM/T 0002
  // block encryption instead.
  it('is the leftmost bytes of the zero block encrypted, for SM4 too', () => {
    const key = hex('0123456789ABCDEFFEDCBA9876543210');
    const expected = createCipheriv('sm4-ecb', key, null).update(Buffer.alloc(16)).subarray(0, 3);
    assert.deepEqual(keyCheckValue('sm4', key), expected);
  });
});
