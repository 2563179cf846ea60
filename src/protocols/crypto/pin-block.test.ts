import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CRYPTOGRAM_ALGORITHMS, decryptEcb, encryptEcb } from './algorithms.ts';
import { CryptoInputError } from './errors.ts';
import {
  buildPanFieldFormat4,
  buildPinFieldFormat4,
  decipherPinBlockFormat4,
  encipherPinBlockFormat4,
  parsePinFieldFormat4,
} from './pin-block-format-4.ts';
import { buildPinBlockFormat0, decryptPinBlock, encryptPinBlock, parsePinBlockFormat0 } from './pin-block.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const upper = (b: Buffer): string => b.toString('hex').toUpperCase();

const pinArb = fc.stringMatching(/^\d{4,12}$/);
const panArb = fc.stringMatching(/^\d{13,19}$/);

describe('ISO 9564-1 format 0 — published examples', () => {
  // 4000001234562000: the pinblock npm module's README/tests and pynblock tests/test_tools.py;
  // 8998811234567890 and 4000001234562: pynblock tests/test_tools.py;
  // 5555555551234567: psec tests/test_pinblock.py.
  const vectors: [string, string, string][] = [
    ['1234', '4000001234562000', '041234FEDCBA9DFF'],
    ['1234', '8998811234567890', '0412BCEEDCBA9876'],
    ['92389', '4000001234562', '0592789FFFEDCBA9'],
    ['1234', '5555555551234567', '041261AAAAEDCBA9'],
    ['123456789', '5555555551234567', '091261032D8DCBA9'],
    ['1234567890', '5555555551234567', '0A1261032D82CBA9'],
    ['123456789012', '5555555551234567', '0C1261032D8226A9'],
  ];

  for (const [pin, pan, block] of vectors) {
    it(`builds and parses ${block}`, () => {
      assert.equal(upper(buildPinBlockFormat0(pin, pan)), block);
      assert.equal(parsePinBlockFormat0(hex(block), pan), pin);
    });
  }
});

describe('ISO 9564-1 format 0 — refusals', () => {
  it('refuses malformed PINs with a typed error that does not echo the PIN', () => {
    for (const pin of ['123', '1234567890123', '123A', '', '12 34']) {
      assert.throws(() => buildPinBlockFormat0(pin, '4000001234562000'), (error: unknown) => {
        assert.ok(error instanceof CryptoInputError);
        assert.equal(error.code, 'pin_format');
        assert.equal(error.param, 'pin');
        if (pin.length > 0) assert.ok(!error.message.includes(pin));
        return true;
      });
    }
  });

  it('refuses malformed PANs', () => {
    assert.throws(() => buildPinBlockFormat0('1234', '4000-0012'), { code: 'pan_format' });
    assert.throws(() => buildPinBlockFormat0('1234', '1234567'), { code: 'pan_format' });
  });

  // Malformed blocks adapted from psec tests/test_pinblock.py (decode_pinblock_iso_0 exceptions).
  it('validates control nibble, PIN length, digits and filler when parsing', () => {
    const pan = '5555555551234567';
    const cases: [string, RegExp][] = [
      ['241261AAAAEDCBA9', /control/],
      ['0F1261AAAAEDCBA9', /length/],
      ['021261AAAAEDCBA9', /length/],
      ['041261AAAAEDCBAA', /fill/],
      ['051261AAAAEDCBA9', /non-decimal/],
    ];
    for (const [block, message] of cases) {
      assert.throws(() => parsePinBlockFormat0(hex(block), pan), { name: 'CryptoInputError', code: 'pin_block_format', message });
    }
    assert.throws(() => parsePinBlockFormat0(hex('041261AAAAEDCB'), pan), { code: 'data_length' });
  });

  it('round-trips every valid PIN and PAN', () => {
    fc.assert(
      fc.property(pinArb, panArb, (pin, pan) => {
        const block = buildPinBlockFormat0(pin, pan);
        assert.equal(block.length, 8);
        assert.equal(parsePinBlockFormat0(block, pan), pin);
      }),
    );
  });
});

describe('ISO 9564-1:2017 format 4 (AES)', () => {
  const key = hex('00112233445566778899AABBCCDDEEFF');

  // psec pinblock.py docstrings: encode_pin_field_iso_4, encode_pan_field_iso_4.
  it('builds the published PIN and PAN fields', () => {
    assert.equal(upper(buildPinFieldFormat4('1234', hex('548ED7FD65495950'))), '441234AAAAAAAAAA548ED7FD65495950');
    assert.equal(parsePinFieldFormat4(hex('441234AAAAAAAAAA548ED7FD65495950')), '1234');
    assert.equal(upper(buildPanFieldFormat4('112233445566778899')), '61122334455667788990000000000000');
  });

  // psec pinblock.py docstring and tests (random fill FF..FF), paysec-pinblock README.
  it('enciphers the published examples', () => {
    assert.equal(upper(encipherPinBlockFormat4(key, '1234', '1234567890123456', hex('1122334455667788'))), '7CDF645C86CAF763AE34637A66997534');
    assert.equal(upper(encipherPinBlockFormat4(key, '1234', '1234567890123456789', Buffer.alloc(8, 0xff))), '28B41FDDD29B743E93124BD8E32D921E');
  });

  // psec decipher_pinblock_iso_4 docstring; paysec-pinblock tests (test_decipher_pinblock_iso_4_various).
  it('deciphers the published examples', () => {
    const cases: [string, string, string][] = [
      ['1234', '1234567890123456', 'E4BE5B623AF7E006AC319E5B93544564'],
      ['1234', '1234567890123456', '52DB178C6EDCE52E3A70F7FBC8E9C758'],
      ['123456', '123456789012345678', '847A0209C659E4C4A79CA6A2A2217D31'],
      ['12345678', '1234567890123456789', '018BFEC8B5EF60181A327AD8325A2BA4'],
    ];
    for (const [pin, pan, block] of cases) assert.equal(decipherPinBlockFormat4(key, hex(block), pan), pin);
  });

  it('uses fresh randomness, so the same PIN enciphers differently each time', () => {
    assert.notDeepEqual(encipherPinBlockFormat4(key, '1234', '1234567890123456'), encipherPinBlockFormat4(key, '1234', '1234567890123456'));
  });

  it('rejects a block deciphered with the wrong PAN', () => {
    assert.throws(() => decipherPinBlockFormat4(key, hex('7CDF645C86CAF763AE34637A66997534'), '1234567890123457'), {
      code: 'pin_block_format',
    });
  });
});

describe('encryptPinBlock / decryptPinBlock under a zone PIN key', () => {
  it('tdes is 3DES-ECB of the format 0 block', () => {
    const zpk = hex('0123456789ABCDEFFEDCBA9876543210');
    const encrypted = encryptPinBlock('tdes', zpk, '1234', '4000001234562000');
    assert.deepEqual(decryptEcb('tdes', zpk, encrypted), hex('041234FEDCBA9DFF'));
  });

  it('sm4 is SM4-ECB of the format 0 block followed by FF x 8 (project convention, no public vector)', () => {
    const zpk = hex('0123456789ABCDEFFEDCBA9876543210');
    const encrypted = encryptPinBlock('sm4', zpk, '1234', '4000001234562000');
    assert.equal(encrypted.length, 16);
    assert.deepEqual(decryptEcb('sm4', zpk, encrypted), hex('041234FEDCBA9DFF' + 'FF'.repeat(8)));
    const badFiller = encryptEcb('sm4', zpk, hex('041234FEDCBA9DFF' + '00'.repeat(8)));
    assert.throws(() => decryptPinBlock('sm4', zpk, badFiller, '4000001234562000'), { code: 'pin_block_format' });
  });

  it('round-trips for every algorithm, PIN and PAN', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CRYPTOGRAM_ALGORITHMS),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        pinArb,
        panArb,
        (algorithm, keyBytes, pin, pan) => {
          const zpk = Buffer.from(keyBytes);
          const encrypted = encryptPinBlock(algorithm, zpk, pin, pan);
          assert.equal(encrypted.length, algorithm === 'tdes' ? 8 : 16);
          assert.equal(decryptPinBlock(algorithm, zpk, encrypted, pan), pin);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses wrong-length keys and blocks with typed errors', () => {
    assert.throws(() => encryptPinBlock('sm4', Buffer.alloc(8), '1234', '4000001234562000'), { code: 'key_length', param: 'zonePinKey' });
    assert.throws(() => decryptPinBlock('aes', Buffer.alloc(16), Buffer.alloc(8), '4000001234562000'), {
      code: 'data_length',
      param: 'encryptedPinBlock',
    });
  });
});
