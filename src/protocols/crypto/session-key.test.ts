import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encryptEcb } from './algorithms.ts';
import { deriveIccMasterKeyOptionA } from './key-derivation.ts';
import { hasOddDesParity, keyCheckValue } from './keys.ts';
import {
  commonSessionKeyDiversifier,
  deriveCommonSessionKey,
  deriveCommonSessionKeyFromR,
  derivePbocSessionKey,
} from './session-key.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const upper = (b: Buffer): string => b.toString('hex').toUpperCase();
const IMK = hex('0123456789ABCDEFFEDCBA9876543210');

describe('deriveCommonSessionKey — 3DES (EMV Book 2 A1.3.1)', () => {
  // pyemv pyemv/kd.py derive_common_sk docstring: MK 0123...3210, R = 001C000000000000.
  it('matches the pyemv vector for ATC 001C', () => {
    assert.equal(upper(deriveCommonSessionKey('tdes', IMK, hex('001C'))), 'E9FB384AF807B940FEDCEA613461B0C4');
  });

  // pyemv tests/test_kd_hsm.py and tests/test_ac_hsm.py: Option A card keys, then R = 1234567890123456,
  // session key check digits.
  it('matches the pyemv session key check digits for an explicit R', () => {
    const r = hex('1234567890123456');
    const cases: [string, string | undefined, string][] = [
      ['9901234567890123', '45', '0995'],
      ['12345678901234567', '45', 'DF82'],
      ['12345678901234567', undefined, '3F4F'],
    ];
    for (const [pan, psn, kcv] of cases) {
      const mk = deriveIccMasterKeyOptionA('tdes', IMK, pan, psn);
      assert.equal(upper(keyCheckValue('tdes', deriveCommonSessionKeyFromR('tdes', mk, r), 2)), kcv);
    }
  });

  it('encrypts ATC||F0||00.. and ATC||0F||00.. and adjusts parity', () => {
    const sk = deriveCommonSessionKey('tdes', IMK, hex('0102'));
    assert.equal(hasOddDesParity(sk), true);
    const raw = encryptEcb('tdes', IMK, hex('0102F00000000000' + '01020F0000000000'));
    for (let i = 0; i < 16; i++) assert.equal(sk[i]! & 0xfe, raw[i]! & 0xfe);
  });
});

describe('deriveCommonSessionKey — AES and SM4 (k = n = 16)', () => {
  // No published vector found; check SK := ALG(MK)[ATC || 00..00] directly.
  for (const algorithm of ['aes', 'sm4'] as const) {
    it(`${algorithm}: encrypts the 16-byte R = ATC || 00..00`, () => {
      assert.equal(upper(commonSessionKeyDiversifier(algorithm, hex('001C'))), '001C' + '00'.repeat(14));
      assert.deepEqual(deriveCommonSessionKey(algorithm, IMK, hex('001C')), encryptEcb(algorithm, IMK, hex('001C' + '00'.repeat(14))));
    });

    it(`${algorithm}: gives a different key for every ATC`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (a, b) => {
          fc.pre(a !== b);
          const atc = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);
          assert.notDeepEqual(deriveCommonSessionKey(algorithm, IMK, atc(a)), deriveCommonSessionKey(algorithm, IMK, atc(b)));
        }),
        { numRuns: 100 },
      );
    });
  }
});

describe('derivePbocSessionKey (PBOC 2.0 process key)', () => {
  // No published vector found. The 3DES form is checked against its definition
  // 3DES(MK)['00'x6||ATC] || 3DES(MK)['00'x6||ATC xor FFFF]; the 16-byte form likewise.
  it('tdes: encrypts 000000000000||ATC and 000000000000||~ATC', () => {
    const raw = encryptEcb('tdes', IMK, hex('000000000000001C' + '000000000000FFE3'));
    const sk = derivePbocSessionKey('tdes', IMK, hex('001C'));
    assert.equal(hasOddDesParity(sk), true);
    for (let i = 0; i < 16; i++) assert.equal(sk[i]! & 0xfe, raw[i]! & 0xfe);
  });

  it('sm4: encrypts the two halves as one block', () => {
    assert.deepEqual(derivePbocSessionKey('sm4', IMK, hex('001C')), encryptEcb('sm4', IMK, hex('000000000000001C000000000000FFE3')));
  });

  it('differs from the EMV common session key', () => {
    assert.notDeepEqual(derivePbocSessionKey('tdes', IMK, hex('001C')), deriveCommonSessionKey('tdes', IMK, hex('001C')));
  });
});

describe('input checks', () => {
  it('refuses a wrong-length ATC, R or master key with typed errors', () => {
    assert.throws(() => deriveCommonSessionKey('tdes', IMK, hex('01')), { name: 'CryptoInputError', code: 'data_length', param: 'atc' });
    assert.throws(() => deriveCommonSessionKeyFromR('aes', IMK, Buffer.alloc(8)), { code: 'data_length', param: 'r' });
    assert.throws(() => deriveCommonSessionKey('aes', Buffer.alloc(32), hex('0001')), { code: 'key_length', param: 'cardMasterKey' });
    assert.throws(() => derivePbocSessionKey('sm4', IMK, hex('000102')), { code: 'data_length' });
  });
});
