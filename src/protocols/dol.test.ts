import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildDolData, dolDataLength, encodeDol, fitDolValue, parseDol, splitDolData } from './dol.ts';
import type { DolEntry } from './dol.ts';
import { fromHex, toHex } from './hex.ts';
import { TlvError } from './tlv.ts';

// The PDOL of a Visa qVSDC card (tag 9F38 of its SELECT AID answer): TTQ, amount, other amount,
// terminal country, TVR, currency, date, type, unpredictable number.
const VISA_PDOL = fromHex('9F66049F02069F03069F1A0295055F2A029A039C019F3704');

describe('DOL parsing', () => {
  it('reads the tag + length list of a real PDOL', () => {
    const entries = parseDol(VISA_PDOL);
    assert.deepEqual(
      entries.map((entry) => `${entry.tag}:${entry.length}`),
      ['9F66:4', '9F02:6', '9F03:6', '9F1A:2', '95:5', '5F2A:2', '9A:3', '9C:1', '9F37:4'],
    );
    assert.equal(dolDataLength(entries), 33);
    assert.deepEqual(encodeDol(entries), VISA_PDOL);
  });

  it('refuses a tag without its length, a truncated tag and too many entries', () => {
    assert.throws(() => parseDol(fromHex('9F6604 9F02')), (error: unknown) => error instanceof TlvError && error.code === 'truncated_length');
    assert.throws(() => parseDol(fromHex('9F')), (error: unknown) => error instanceof TlvError && error.code === 'truncated_tag');
    assert.throws(() => parseDol(fromHex('9A03'.repeat(65))), (error: unknown) => error instanceof TlvError && error.code === 'too_large');
  });
});

describe('DOL data (EMV Book 3, 5.4)', () => {
  it('fills the Visa PDOL from terminal data in DOL order', () => {
    const values = new Map([
      ['9F66', fromHex('36004000')],
      ['9F02', fromHex('000000001000')],
      ['9F03', fromHex('000000000000')],
      ['9F1A', fromHex('0156')],
      ['95', fromHex('0000000000')],
      ['5F2A', fromHex('0156')],
      ['9A', fromHex('250612')],
      ['9C', fromHex('00')],
      ['9F37', fromHex('A1B2C3D4')],
    ]);
    const data = buildDolData(parseDol(VISA_PDOL), values);
    assert.equal(toHex(data), '36004000' + '000000001000' + '000000000000' + '0156' + '0000000000' + '0156' + '250612' + '00' + 'A1B2C3D4');
  });

  it('truncates the rightmost bytes of a non-numeric value (rule c)', () => {
    // A card asking for 2 bytes of Terminal Capabilities 9F33 (b, normally 3 bytes).
    const entries = parseDol(fromHex('9F3302 9F3501 9F4001'));
    const values = new Map([
      ['9F33', fromHex('A0A0C0')],
      ['9F35', fromHex('16')],
      ['9F40', fromHex('700080B001')],
    ]);
    assert.equal(toHex(buildDolData(entries, values)), 'A0A01670');
  });

  it('numeric values lose leftmost bytes and gain leading zeros (rules c, d)', () => {
    assert.equal(toHex(fitDolValue(fromHex('00000000001000'), 6, 'n')), '000000001000');
    assert.equal(toHex(fitDolValue(fromHex('1000'), 6, 'n')), '000000001000');
  });

  it('cn values are padded with trailing FF, other formats with trailing 00 (rule d)', () => {
    assert.equal(toHex(fitDolValue(fromHex('6212345678901234'), 10, 'cn')), '6212345678901234FFFF');
    assert.equal(toHex(fitDolValue(fromHex('6212345678901234'), 4, 'cn')), '62123456');
    assert.equal(toHex(fitDolValue(fromHex('3600'), 4, 'b')), '36000000');
    assert.equal(toHex(fitDolValue(Buffer.from('AB'), 4, 'ans')), '41420000');
  });

  it('absent and constructed tags become zeros (rules a, b, e)', () => {
    const entries = parseDol(fromHex('9F3704 BF0C02 9F4E03'));
    const values = new Map([
      ['BF0C', fromHex('FFFF')],
      ['9F4E', Buffer.from('MiPay')],
    ]);
    assert.equal(toHex(buildDolData(entries, values)), '00000000' + '0000' + '4D6950');
  });

  it('the card splits DOL data back into its values', () => {
    const entries = parseDol(fromHex('9F0206 9F3704'));
    const values = splitDolData(entries, fromHex('000000001000 01020304'));
    assert.equal(toHex(values.get('9F02')!), '000000001000');
    assert.equal(toHex(values.get('9F37')!), '01020304');
    assert.throws(() => splitDolData(entries, fromHex('00')), TlvError);
    assert.throws(() => splitDolData(entries, Buffer.alloc(11)), TlvError);
  });
});

const entryArb: fc.Arbitrary<DolEntry> = fc
  .tuple(
    fc.constantFrom('9F02', '9F03', '9F1A', '95', '5F2A', '9A', '9C', '9F37', '9F66', '5A', '9F4E', 'DF60'),
    fc.integer({ min: 0, max: 12 }),
  )
  .map(([tag, length]) => ({ tag, length }));

describe('DOL properties', () => {
  it('parseDol(encodeDol(entries)) = entries', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 20 }), (entries) => {
        assert.deepStrictEqual(parseDol(encodeDol(entries)), entries);
      }),
    );
  });

  it('built data always has the length the DOL asks for and splits back for exact-size values', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(entryArb, { selector: (entry) => entry.tag, maxLength: 10 }),
        fc.array(fc.uint8Array({ maxLength: 16 }), { minLength: 12, maxLength: 12 }),
        (entries, raw) => {
          const any = new Map(entries.map((entry, index) => [entry.tag, Buffer.from(raw[index]!)]));
          assert.equal(buildDolData(entries, any).length, dolDataLength(entries));
          const exact = new Map(entries.map((entry, index) => [entry.tag, Buffer.alloc(entry.length, index)]));
          assert.deepStrictEqual(splitDolData(entries, buildDolData(entries, exact)), exact);
        },
      ),
    );
  });

  it('random bytes only ever raise TlvError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseDol(Buffer.from(bytes));
        } catch (error) {
          assert.ok(error instanceof TlvError, String(error));
        }
      }),
    );
  });
});
