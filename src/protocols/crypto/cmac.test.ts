import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { aesCmac, cmac, cmacSubkeys } from './cmac.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

// RFC 4493 section 4, examples 1-4. The empty, 16- and 64-byte ones also appear in NIST's
// CMAC-AES128 example file (csrc.nist.gov AES_CMAC.pdf), whose third example is 20 bytes.
const KEY = hex('2b7e151628aed2a6abf7158809cf4f3c');
const M64 = hex(
  '6bc1bee22e409f96e93d7e117393172a' +
    'ae2d8a571e03ac9c9eb76fac45af8e51' +
    '30c81c46a35ce411e5fbc1191a0a52ef' +
    'f69f2445df4f9b17ad2b417be66c3710',
);

describe('AES-CMAC (RFC 4493)', () => {
  it('derives the published subkeys K1 and K2', () => {
    const { k1, k2 } = cmacSubkeys('aes', KEY);
    assert.equal(k1.toString('hex'), 'fbeed618357133667c85e08f7236a8de');
    assert.equal(k2.toString('hex'), 'f7ddac306ae266ccf90bc11ee46d513b');
  });

  it('example 1: empty message', () => {
    assert.equal(aesCmac(KEY, Buffer.alloc(0)).toString('hex'), 'bb1d6929e95937287fa37d129b756746');
  });

  it('example 2: 16 bytes', () => {
    assert.equal(aesCmac(KEY, M64.subarray(0, 16)).toString('hex'), '070a16b46b4d4144f79bdd9dd04a287c');
  });

  it('example 3: 40 bytes', () => {
    assert.equal(aesCmac(KEY, M64.subarray(0, 40)).toString('hex'), 'dfa66747de9ae63030ca32611497c827');
  });

  it('example 4: 64 bytes', () => {
    assert.equal(aesCmac(KEY, M64).toString('hex'), '51f0bebf7e3b9d92fc49741779363cfe');
  });

  it('NIST CMAC-AES128 example 3: 20 bytes', () => {
    assert.equal(aesCmac(KEY, M64.subarray(0, 20)).toString('hex'), '7d85449ea6ea19c823a7bf78837dfade');
  });

  it('refuses a key of the wrong length', () => {
    assert.throws(() => aesCmac(Buffer.alloc(15), Buffer.alloc(0)), { name: 'CryptoInputError', code: 'key_length' });
  });
});

describe('SM4-CMAC', () => {
  // No published SM4-CMAC vector was found: check that it is deterministic and that a
  // complete block and the same bytes padded by hand do not collide (the K1/K2 split).
  const key = hex('0123456789ABCDEFFEDCBA9876543210');

  it('separates a full last block from a padded partial one', () => {
    const partial = hex('0102');
    const paddedByHand = hex('0102' + '80' + '00'.repeat(13));
    assert.notDeepEqual(cmac('sm4', key, partial), cmac('sm4', key, paddedByHand));
  });

  it('changes when any byte changes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (bytes, position) => {
        const data = Buffer.from(bytes);
        const tampered = Buffer.from(data);
        const i = position % data.length;
        tampered[i] = tampered[i]! ^ 0x80;
        assert.deepEqual(cmac('sm4', key, data), cmac('sm4', key, Buffer.from(data)));
        assert.notDeepEqual(cmac('sm4', key, tampered), cmac('sm4', key, data));
      }),
      { numRuns: 200 },
    );
  });
});
