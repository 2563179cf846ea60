// Data Object Lists: EMV 4.4 Book 3, 5.4. A card asks the terminal for data with a DOL (PDOL
// in the FCI for GET PROCESSING OPTIONS, CDOL1/CDOL2 in a record for GENERATE AC): a list of
// tag + length pairs without values. The terminal answers with the values concatenated in the
// same order, each forced to exactly the length the card asked for.
import assert from 'node:assert/strict';
import { TlvError, decodeTag, isConstructedTag } from './tlv.ts';

/** One entry of a DOL: the tag the card wants and the length it wants it in. */
export interface DolEntry {
  readonly tag: string;
  readonly length: number;
}

/** Data element formats (EMV Book 3, 4.3) that change how a value is fitted to a DOL length. */
export type DolFormat = 'n' | 'cn' | 'b' | 'an' | 'ans';

/** A DOL has far fewer entries than this; the bound keeps a hostile card from wasting time. */
export const DOL_ENTRIES_MAX = 64;

/**
 * Formats of the terminal- and card-sourced data elements that commonly appear in PDOL and
 * CDOL (EMV Book 3, Annex A1; UnionPay QuickPass / qPBOC for 9F66 and DF60). Tags missing
 * here are treated as 'b', which is also what EMV asks for unknown tags.
 */
export const EMV_TAG_FORMATS: ReadonlyMap<string, DolFormat> = new Map<string, DolFormat>([
  ['5A', 'cn'], // Application PAN
  ['5F24', 'n'], // Application Expiration Date
  ['5F2A', 'n'], // Transaction Currency Code
  ['5F34', 'n'], // PAN Sequence Number
  ['5F36', 'n'], // Transaction Currency Exponent
  ['8A', 'an'], // Authorisation Response Code
  ['9A', 'n'], // Transaction Date
  ['9C', 'n'], // Transaction Type
  ['9F01', 'n'], // Acquirer Identifier
  ['9F02', 'n'], // Amount, Authorised
  ['9F03', 'n'], // Amount, Other
  ['9F15', 'n'], // Merchant Category Code
  ['9F16', 'ans'], // Merchant Identifier
  ['9F1A', 'n'], // Terminal Country Code
  ['9F1C', 'an'], // Terminal Identification
  ['9F21', 'n'], // Transaction Time
  ['9F35', 'n'], // Terminal Type
  ['9F39', 'n'], // POS Entry Mode
  ['9F41', 'n'], // Transaction Sequence Counter
  ['9F4E', 'ans'], // Merchant Name and Location
]);

/**
 * Parses a DOL (EMV Book 3, 5.4): a concatenation of BER tags each followed by a one-byte
 * length. Throws TlvError ('truncated_length' when a tag has no length byte, tag errors as in
 * `decodeTag`, 'too_large' past `entriesMax` entries).
 */
export function parseDol(dol: Buffer, entriesMax = DOL_ENTRIES_MAX): DolEntry[] {
  const entries: DolEntry[] = [];
  let cursor = 0;
  while (cursor < dol.length) {
    if (entries.length >= entriesMax) throw new TlvError('too_large', `DOL has more than ${entriesMax} entries`, cursor);
    const { tag, next } = decodeTag(dol, cursor);
    const length = dol[next];
    if (length === undefined) throw new TlvError('truncated_length', `DOL entry ${tag} has no length`, next);
    entries.push({ tag, length });
    cursor = next + 1;
  }
  return entries;
}

/** Encodes a DOL from entries, the inverse of `parseDol` (cards use it to publish a PDOL). */
export function encodeDol(entries: readonly DolEntry[]): Buffer {
  return Buffer.concat(
    entries.map((entry) => {
      assert.ok(Number.isInteger(entry.length) && entry.length >= 0 && entry.length <= 255, 'DOL length is one byte');
      // isConstructedTag validates the tag text and throws TlvError on a malformed one.
      isConstructedTag(entry.tag);
      return Buffer.concat([Buffer.from(entry.tag, 'hex'), Buffer.from([entry.length])]);
    }),
  );
}

/** Total length of the data a DOL asks for. */
export function dolDataLength(entries: readonly DolEntry[]): number {
  return entries.reduce((total, entry) => total + entry.length, 0);
}

/**
 * Fits one value to `length` bytes following EMV Book 3, 5.4 rules c and d:
 * - format n: too long → the leftmost bytes are dropped; too short → leading 00 bytes;
 * - format cn: too long → the rightmost bytes are dropped; too short → trailing FF bytes;
 * - any other format (an, ans, b): too long → rightmost dropped; too short → trailing 00.
 */
export function fitDolValue(value: Buffer, length: number, format: DolFormat): Buffer {
  if (value.length === length) return value;
  if (value.length > length) {
    return format === 'n' ? value.subarray(value.length - length) : value.subarray(0, length);
  }
  const padding = Buffer.alloc(length - value.length, format === 'cn' ? 0xff : 0x00);
  return format === 'n' ? Buffer.concat([padding, value]) : Buffer.concat([value, padding]);
}

/**
 * Builds the data a DOL asks for (EMV Book 3, 5.4): the entries' values concatenated in DOL
 * order, each fitted by `fitDolValue`. Rules a, b and e: a tag the terminal has no value for,
 * or a constructed tag, contributes `length` bytes of 00.
 */
export function buildDolData(
  entries: readonly DolEntry[],
  values: ReadonlyMap<string, Buffer>,
  formats: ReadonlyMap<string, DolFormat> = EMV_TAG_FORMATS,
): Buffer {
  return Buffer.concat(
    entries.map((entry) => {
      const value = values.get(entry.tag);
      if (value === undefined || isConstructedTag(entry.tag)) return Buffer.alloc(entry.length);
      return fitDolValue(value, entry.length, formats.get(entry.tag) ?? 'b');
    }),
  );
}

/**
 * The inverse seen from the card: splits DOL data back into tag → value using the DOL the
 * card published (EMV Book 3, 5.4). Throws TlvError 'length_exceeds_buffer' when the data is
 * shorter than the DOL needs, 'too_large' when it is longer.
 */
export function splitDolData(entries: readonly DolEntry[], data: Buffer): Map<string, Buffer> {
  const expected = dolDataLength(entries);
  if (data.length < expected) throw new TlvError('length_exceeds_buffer', `DOL data of ${data.length} bytes, ${expected} needed`);
  if (data.length > expected) throw new TlvError('too_large', `DOL data of ${data.length} bytes, ${expected} expected`);
  const values = new Map<string, Buffer>();
  let cursor = 0;
  for (const entry of entries) {
    values.set(entry.tag, Buffer.from(data.subarray(cursor, cursor + entry.length)));
    cursor += entry.length;
  }
  return values;
}
