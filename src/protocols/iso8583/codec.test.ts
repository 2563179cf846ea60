import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../hex.ts';
import { decodeTlv, encodeTlv, findTlvValue, tlv } from '../tlv.ts';
import { Iso8583Error, binaryField, decodeMessage, encodeMessage, textField } from './codec.ts';
import type { FieldValue, Iso8583ErrorCode, Iso8583Message } from './codec.ts';
import {
  CUPS_BCD_SPEC,
  CUPS_SPEC,
  MTI,
  POS_ENTRY_MODE,
  PROCESSING_CODE,
  RESPONSE_CODES,
  formatAmount,
  formatOriginalData,
  parseAmount,
  parseOriginalData,
  responseMti,
} from './spec.ts';
import type { FieldSpec, MessageSpec } from './spec.ts';

// Field 55 of a contactless QuickPass purchase: what the POS copies from GENERATE AC and its
// own terminal data (EMV Book 3, Annex A tags; 9F10 in the UnionPay IAD layout).
const ICC_DATA = encodeTlv([
  tlv('9F26', fromHex('7A3E1C0B5D9F2A11')),
  tlv('9F27', fromHex('80')),
  tlv('9F10', fromHex('07010103A0A802010A010000000000B51F6A7C')),
  tlv('9F37', fromHex('5E1F0C99')),
  tlv('9F36', fromHex('0021')),
  tlv('95', fromHex('0000000000')),
  tlv('9A', fromHex('250612')),
  tlv('9C', fromHex('00')),
  tlv('9F02', fromHex('000000001000')),
  tlv('5F2A', fromHex('0156')),
  tlv('82', fromHex('7C00')),
  tlv('9F1A', fromHex('0156')),
  tlv('9F03', fromHex('000000000000')),
  tlv('9F33', fromHex('E0E1C8')),
  tlv('9F34', fromHex('020300')),
  tlv('9F35', fromHex('22')),
  tlv('84', fromHex('A000000333010102')),
  tlv('9F09', fromHex('0030')),
  tlv('9F41', fromHex('00000123')),
]);

const PAN = '6231900000000000018';

// A 0100 authorization request from a QuickPass terminal: device-card PAN, ¥10.00, contactless
// chip with PIN capability (071), ICC data in 55, MAC in 128.
const AUTHORIZATION: Iso8583Message = {
  mti: MTI.AUTHORIZATION_REQUEST,
  fields: {
    2: PAN,
    3: PROCESSING_CODE.PURCHASE,
    4: formatAmount(1000n),
    7: '0612103015',
    11: '000123',
    12: '103015',
    13: '0612',
    14: '2912',
    22: POS_ENTRY_MODE.CONTACTLESS_CHIP_PIN_CAPABLE,
    23: '001',
    25: '00',
    32: '48021000',
    35: `${PAN}=29122010000000000`,
    41: 'POS00001',
    42: '898310048161234',
    43: 'MI PAY OPEN TEST STORE SHANGHAI CN'.padEnd(40, ' '),
    49: '156',
    55: ICC_DATA,
    60: '22000123000600',
    128: fromHex('A1B2C3D4E5F60718'),
  },
};

function assertIso8583Error(action: () => unknown, code: Iso8583ErrorCode, field?: number): void {
  assert.throws(action, (error: unknown) => error instanceof Iso8583Error && error.code === code && error.field === field);
}

describe('ISO 8583 messages in the default (ASCII) spec', () => {
  it('encodes a 0100 authorization with MTI, both bitmaps and ASCII fields', () => {
    const bytes = encodeMessage(AUTHORIZATION);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), '0100');
    assert.equal(toHex(bytes.subarray(4, 20)), 'F23C068120E082100000000000000001');
    assert.equal(bytes.subarray(20, 47).toString('latin1'), `19${PAN}000000`);
    assert.deepEqual(bytes.subarray(bytes.length - 8), fromHex('A1B2C3D4E5F60718'));
    assert.deepStrictEqual(decodeMessage(bytes), AUTHORIZATION);
  });

  it('keeps field 55 as bytes for tlv.ts to read', () => {
    const decoded = decodeMessage(encodeMessage(AUTHORIZATION));
    const icc = binaryField(decoded, 55)!;
    assert.equal(toHex(findTlvValue(decodeTlv(icc), '9F26')!), '7A3E1C0B5D9F2A11');
    assert.equal(textField(decoded, 39), undefined);
    assert.equal(parseAmount(textField(decoded, 4)!), 1000n);
  });

  it('encodes a 0110 response and a 0400 reversal without a secondary bitmap when fields stop at 64', () => {
    const response: Iso8583Message = {
      mti: responseMti(AUTHORIZATION.mti),
      fields: { 3: '000000', 4: formatAmount(1000n), 11: '000123', 41: 'POS00001', 42: '898310048161234' },
    };
    const bytes = encodeMessage(response);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), '0110');
    assert.equal(toHex(bytes.subarray(4, 12)), '3020000000C00000');
    assert.deepStrictEqual(decodeMessage(bytes), response);

    const original = { mti: '0200', stan: '000123', transmissionDateTime: '0612103015', acquirerId: '48021000', forwarderId: '' };
    const reversal: Iso8583Message = {
      mti: MTI.REVERSAL_REQUEST,
      fields: { 2: PAN, 3: '000000', 4: formatAmount(1000n), 7: '0612103115', 11: '000124', 25: '00', 32: '48021000', 39: '98', 41: 'POS00001', 42: '898310048161234', 49: '156', 90: formatOriginalData(original) },
    };
    const reversalBytes = encodeMessage(reversal);
    assert.equal(toHex(reversalBytes.subarray(4, 20)), 'F220008102C080000000004000000000');
    const field90 = textField(decodeMessage(reversalBytes), 90)!;
    assert.equal(field90, '0200000123061210301500048021000' + '00000000000');
    assert.deepEqual(parseOriginalData(field90), { ...original, acquirerId: '00048021000', forwarderId: '00000000000' });
  });

  it('leaves out fields whose value is undefined', () => {
    const message: Iso8583Message = { mti: '0800', fields: { 11: '000001', 39: undefined, 70: '001' } };
    assert.deepStrictEqual(decodeMessage(encodeMessage(message)), { mti: '0800', fields: { 11: '000001', 70: '001' } });
  });

  it('has helpers for amounts, response MTIs and response codes', () => {
    assert.equal(formatAmount(123_456n), '000000123456');
    assert.throws(() => formatAmount(10n ** 12n), assert.AssertionError);
    assert.equal(responseMti('0200'), '0210');
    assert.equal(responseMti('0420'), '0430');
    assert.equal(RESPONSE_CODES.get('51'), 'insufficient funds');
  });
});

describe('ISO 8583 messages in the BCD spec', () => {
  it('packs MTI, lengths and n/z values as BCD with the documented pad nibbles', () => {
    const message: Iso8583Message = {
      mti: '0200',
      fields: { 2: PAN, 22: '071', 35: `${PAN}=2912201`, 55: fromHex('9F360200219F2701 80'), 60: 'ABC' },
    };
    const bytes = encodeMessage(message, CUPS_BCD_SPEC);
    const expected =
      '0200' + // MTI, 2 bytes
      '4000040020000210' + // fields 2, 22, 35, 55, 60
      '19' + '62319000000000000180' + // LLVAR n: 19 digits, trailing 0 nibble
      '0071' + // fixed n3: leading 0 nibble
      '27' + '6231900000000000018D2912201F' + // LLVAR z: '=' is D, trailing F nibble
      '0009' + '9F360200219F270180' + // LLLVAR b: 2-byte BCD length, raw bytes
      '0003' + toHex(Buffer.from('ABC')); // LLLVAR ans: ASCII value
    assert.equal(toHex(bytes), expected);
    assert.deepStrictEqual(decodeMessage(bytes, CUPS_BCD_SPEC), message);
  });

  it('round-trips the full authorization', () => {
    assert.deepStrictEqual(decodeMessage(encodeMessage(AUTHORIZATION, CUPS_BCD_SPEC), CUPS_BCD_SPEC), AUTHORIZATION);
  });

  it('refuses non-BCD nibbles and wrong pad nibbles', () => {
    const bytes = encodeMessage({ mti: '0200', fields: { 2: PAN, 22: '071' } }, CUPS_BCD_SPEC);
    const badPad = Buffer.from(bytes);
    badPad[2 + 8 + 10] = 0x81; // last PAN byte "80" → "81"
    assertIso8583Error(() => decodeMessage(badPad, CUPS_BCD_SPEC), 'non_numeric', 2);
    const badDigit = Buffer.from(bytes);
    badDigit[badDigit.length - 1] = 0x7a; // field 22 "0071" → "007A"
    assertIso8583Error(() => decodeMessage(badDigit, CUPS_BCD_SPEC), 'non_numeric', 22);
    assertIso8583Error(() => decodeMessage(fromHex('1A00 0000000000000000'), CUPS_BCD_SPEC), 'bad_mti', 0);
  });
});

describe('ISO 8583 errors name the code and the field', () => {
  const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
  const bitmapFor = (...fields: number[]): Buffer => {
    const bitmap = Buffer.alloc(8);
    for (const field of fields) bitmap[(field - 1) >> 3]! |= 0x80 >> ((field - 1) & 7);
    return bitmap;
  };

  it('bad MTI', () => {
    assertIso8583Error(() => decodeMessage(ascii('01A0')), 'bad_mti', 0);
    assertIso8583Error(() => decodeMessage(Buffer.concat([ascii('1100'), bitmapFor()])), 'bad_mti', 0);
    assertIso8583Error(() => encodeMessage({ mti: '100', fields: {} }), 'bad_mti', 0);
  });

  it('truncated bitmap and truncated field', () => {
    assertIso8583Error(() => decodeMessage(ascii('01001234')), 'truncated', 1);
    const bytes = encodeMessage(AUTHORIZATION);
    assertIso8583Error(() => decodeMessage(bytes.subarray(0, bytes.length - 1)), 'truncated', 128);
    assertIso8583Error(() => decodeMessage(Buffer.concat([ascii('0100'), bitmapFor(2), ascii('1962319')])), 'truncated', 2);
    assertIso8583Error(() => decodeMessage(Buffer.concat([ascii('0100'), bitmapFor(2), ascii('1')])), 'truncated', 2);
  });

  it('length over the maximum, and a bad length prefix', () => {
    const pan20 = '6'.repeat(20);
    assertIso8583Error(() => decodeMessage(Buffer.concat([ascii('0100'), bitmapFor(2), ascii(`20${pan20}`)])), 'length_over_max', 2);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 2: pan20 } }), 'length_over_max', 2);
    assertIso8583Error(() => decodeMessage(Buffer.concat([ascii('0100'), bitmapFor(2), ascii('1A')])), 'bad_length_prefix', 2);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 4: '1000' } }), 'length_mismatch', 4);
  });

  it('non-numeric in an n field, bad characters elsewhere', () => {
    assertIso8583Error(() => decodeMessage(Buffer.concat([ascii('0100'), bitmapFor(4), ascii('00000000100A')])), 'non_numeric', 4);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 11: '00012x' } }), 'non_numeric', 11);
    assertIso8583Error(() => encodeMessage({ mti: '0110', fields: { 39: '0 ' } }), 'bad_characters', 39);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 43: '上海'.padEnd(40) } }), 'bad_characters', 43);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 35: `${PAN}D2912` } }), 'bad_characters', 35);
  });

  it('a field present in the bitmap that the spec does not define', () => {
    assertIso8583Error(() => decodeMessage(Buffer.concat([ascii('0100'), bitmapFor(8), ascii('12345678')])), 'unknown_field', 8);
    const withTertiary = Buffer.concat([ascii('0100'), bitmapFor(1), bitmapFor(1)]);
    assertIso8583Error(() => decodeMessage(withTertiary), 'unknown_field', 65);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 8: '1' } }), 'unknown_field', 8);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 1: fromHex('00') } }), 'unknown_field', 1);
  });

  it('wrong value types and trailing bytes', () => {
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 55: 'not bytes' } }), 'wrong_value_type', 55);
    assertIso8583Error(() => encodeMessage({ mti: '0100', fields: { 2: Buffer.from(PAN) } }), 'wrong_value_type', 2);
    const bytes = Buffer.concat([encodeMessage({ mti: '0800', fields: { 70: '301' } }), ascii('X')]);
    assertIso8583Error(() => decodeMessage(bytes), 'trailing_bytes');
  });

  it('never quotes field values (card data) in error messages', () => {
    try {
      encodeMessage({ mti: '0100', fields: { 2: `${PAN}12345` } });
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof Iso8583Error);
      assert.ok(!error.message.includes(PAN));
    }
  });
});

// A value that fits a field definition exactly.
function valueArb(spec: FieldSpec): fc.Arbitrary<FieldValue> {
  const length = spec.length === 'fixed' ? fc.constant(spec.lengthMax) : fc.integer({ min: 0, max: Math.min(spec.lengthMax, 60) });
  const chars: Record<Exclude<FieldSpec['type'], 'b'>, string> = {
    n: '0123456789',
    an: 'ABCZaz0189',
    ans: ' AZaz09=^/-~',
    z: '0123456789=',
  };
  if (spec.type === 'b') return length.chain((size) => fc.uint8Array({ minLength: size, maxLength: size })).map((bytes) => Buffer.from(bytes));
  const alphabet = [...chars[spec.type]];
  return length.chain((size) => fc.array(fc.constantFrom(...alphabet), { minLength: size, maxLength: size })).map((list) => list.join(''));
}

function messageArb(spec: MessageSpec): fc.Arbitrary<Iso8583Message> {
  const fieldNumbers = [...spec.fields.keys()];
  return fc
    .tuple(
      fc.integer({ min: 0, max: 999 }).map((n) => `0${String(n).padStart(3, '0')}`),
      fc.subarray(fieldNumbers).chain((chosen) => fc.tuple(...chosen.map((field) => valueArb(spec.fields.get(field)!).map((value) => [field, value] as const)))),
    )
    .map(([mti, entries]) => ({ mti, fields: Object.fromEntries(entries) }));
}

describe('ISO 8583 properties', () => {
  for (const spec of [CUPS_SPEC, CUPS_BCD_SPEC]) {
    it(`decode(encode(message)) = message (${spec.name})`, () => {
      fc.assert(
        fc.property(messageArb(spec), (message) => {
          assert.deepStrictEqual(decodeMessage(encodeMessage(message, spec), spec), message);
        }),
        { numRuns: 300 },
      );
    });

    it(`random and corrupted bytes only ever raise Iso8583Error (${spec.name})`, () => {
      const inputs = fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
        fc.tuple(messageArb(spec), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([message, position, byte, cut]) => {
          const bytes = Buffer.from(encodeMessage(message, spec));
          bytes[position % bytes.length] = byte;
          return bytes.subarray(0, bytes.length - (cut % 4));
        }),
      );
      fc.assert(
        fc.property(inputs, (bytes) => {
          try {
            decodeMessage(bytes, spec);
          } catch (error) {
            assert.ok(error instanceof Iso8583Error, String(error));
          }
        }),
        { numRuns: 500 },
      );
    });
  }
});
