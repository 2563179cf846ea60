// ISO 8583:1987 message codec: MTI, primary and secondary bitmap, then the data elements in
// field-number order, each encoded as its MessageSpec entry says. Messages arrive from other
// parties over TCP, so decoding checks every length and character and reports problems as an
// Iso8583Error naming the field; error messages never quote field values, which may be card
// data.
import assert from 'node:assert/strict';
import { CUPS_SPEC } from './spec.ts';
import type { FieldSpec, MessageSpec } from './spec.ts';

/** Largest message decoded: what a 2-byte length prefix can carry. */
export const ISO8583_MESSAGE_SIZE_MAX = 65_535;

export type Iso8583ErrorCode =
  | 'bad_mti' // not 4 digits with version 0 (1987)
  | 'truncated' // the message ends inside the MTI, a bitmap, a length prefix or a value
  | 'bad_length_prefix' // an LL/LLL prefix that is not decimal digits
  | 'length_over_max' // a variable length above the field's maximum
  | 'length_mismatch' // a fixed-length value of the wrong length (encoding)
  | 'non_numeric' // a non-digit in an n field (or a bad BCD pad nibble)
  | 'bad_characters' // a character outside the an / ans / z set
  | 'wrong_value_type' // a Buffer for a text field or text for a b field (encoding)
  | 'unknown_field' // a field the spec does not define (or 65, the tertiary bitmap)
  | 'trailing_bytes' // bytes left after the last field in the bitmap
  | 'too_large'; // over ISO8583_MESSAGE_SIZE_MAX

/** The one error the ISO 8583 codec throws; `field` is 0 for the MTI, 1 for the bitmaps. */
export class Iso8583Error extends Error {
  override readonly name = 'Iso8583Error';
  readonly code: Iso8583ErrorCode;
  readonly field: number | undefined;

  constructor(code: Iso8583ErrorCode, message: string, field?: number) {
    super(field === undefined ? message : `field ${field}: ${message}`);
    this.code = code;
    this.field = field;
  }
}

/** A field value: text for n, an, ans and z fields (n kept as a digit string), a Buffer for b. */
export type FieldValue = string | Buffer;

/** An ISO 8583 message. Fields 1 and 65 (bitmaps) are never in `fields`; the codec derives them. */
export interface Iso8583Message {
  readonly mti: string;
  readonly fields: { readonly [field: number]: FieldValue | undefined };
}

const CHARSETS: Record<FieldSpec['type'], RegExp> = {
  n: /^[0-9]*$/,
  an: /^[A-Za-z0-9]*$/,
  ans: /^[\x20-\x7e]*$/,
  b: /^$/,
  z: /^[0-9=]*$/,
};
const MTI_PATTERN = /^0[0-9]{3}$/;

/** Text of a field, or undefined when absent. Reading a b field as text is a programmer error. */
export function textField(message: Iso8583Message, field: number): string | undefined {
  const value = message.fields[field];
  assert.ok(value === undefined || typeof value === 'string', `field ${field} is binary`);
  return value;
}

/** Bytes of a b field (52, 55, 64, 128), or undefined when absent. */
export function binaryField(message: Iso8583Message, field: number): Buffer | undefined {
  const value = message.fields[field];
  assert.ok(value === undefined || Buffer.isBuffer(value), `field ${field} is text`);
  return value;
}

/**
 * Encodes a message (ISO 8583:1987, 4.1): MTI, bitmap(s) with bit 1 set when any field 66–128
 * is present, then each present field in ascending order. Fields whose value is undefined are
 * left out. Throws Iso8583Error for anything that does not match the spec.
 */
export function encodeMessage(message: Iso8583Message, spec: MessageSpec = CUPS_SPEC): Buffer {
  if (!MTI_PATTERN.test(message.mti)) throw new Iso8583Error('bad_mti', 'MTI must be 4 digits starting with 0', 0);
  const present: number[] = [];
  for (const [key, value] of Object.entries(message.fields)) {
    const field = Number(key);
    if (value === undefined) continue;
    if (!spec.fields.has(field)) throw new Iso8583Error('unknown_field', 'not defined by the spec', field);
    present.push(field);
  }
  present.sort((a, b) => a - b);
  const secondary = present.some((field) => field > 64);
  const bitmap = Buffer.alloc(secondary ? 16 : 8);
  if (secondary) setBit(bitmap, 1);
  for (const field of present) setBit(bitmap, field);
  // Every field is checked and sized first, then written into one buffer: a message is encoded
  // several times per authorization (the wire, and the canonical form each MAC is computed over).
  const pieces: WirePiece[] = [];
  let total = (spec.mtiEncoding === 'bcd' ? 2 : 4) + bitmap.length;
  for (const field of present) {
    const piece = encodeField(field, spec.fields.get(field)!, message.fields[field]!);
    total += piece.prefixBytes + piece.bodyBytes;
    pieces.push(piece);
  }
  const out = Buffer.allocUnsafe(total);
  let offset = out.write(message.mti, 0, spec.mtiEncoding === 'bcd' ? 'hex' : 'latin1');
  offset += bitmap.copy(out, offset);
  for (const piece of pieces) {
    if (piece.prefix !== undefined) offset += out.write(piece.prefix, offset, piece.prefixEncoding);
    offset += typeof piece.body === 'string' ? out.write(piece.body, offset, piece.bodyEncoding) : piece.body.copy(out, offset);
  }
  assert.equal(offset, total, 'encoded length');
  return out;
}

/** One field's wire form, not yet written: a length prefix (none for fixed fields) and the value. */
interface WirePiece {
  prefix: string | undefined;
  prefixEncoding: 'hex' | 'latin1';
  prefixBytes: number;
  body: string | Buffer;
  bodyEncoding: 'hex' | 'latin1';
  bodyBytes: number;
}

function setBit(bitmap: Buffer, bit: number): void {
  const index = (bit - 1) >> 3;
  bitmap[index] = bitmap[index]! | (0x80 >> ((bit - 1) & 7));
}

function isBitSet(bitmap: Buffer, bit: number): boolean {
  return (bitmap[(bit - 1) >> 3]! & (0x80 >> ((bit - 1) & 7))) !== 0;
}

function encodeField(field: number, spec: FieldSpec, value: FieldValue): WirePiece {
  let body: string | Buffer;
  let bodyEncoding: 'hex' | 'latin1' = 'latin1';
  let length: number;
  if (spec.type === 'b') {
    if (!Buffer.isBuffer(value)) throw new Iso8583Error('wrong_value_type', 'b field needs a Buffer', field);
    body = value;
    length = value.length;
  } else {
    if (typeof value !== 'string') throw new Iso8583Error('wrong_value_type', `${spec.type} field needs a string`, field);
    if (!CHARSETS[spec.type].test(value)) {
      throw new Iso8583Error(spec.type === 'n' ? 'non_numeric' : 'bad_characters', `characters outside ${spec.type}`, field);
    }
    length = value.length;
    ({ text: body, encoding: bodyEncoding } = packText(value, spec));
  }
  if (spec.length === 'fixed' && length !== spec.lengthMax) {
    throw new Iso8583Error('length_mismatch', `length ${length}, fixed length is ${spec.lengthMax}`, field);
  }
  if (length > spec.lengthMax) throw new Iso8583Error('length_over_max', `length ${length} over ${spec.lengthMax}`, field);
  const bodyBytes = typeof body === 'string' ? (bodyEncoding === 'hex' ? body.length / 2 : body.length) : body.length;
  if (spec.length === 'fixed') return { prefix: undefined, prefixEncoding: 'latin1', prefixBytes: 0, body, bodyEncoding, bodyBytes };
  const digits = spec.length === 'LLVAR' ? 2 : 3;
  const bcd = spec.encoding === 'bcd';
  const prefix = String(length).padStart(bcd ? (digits === 2 ? 2 : 4) : digits, '0');
  return {
    prefix, prefixEncoding: bcd ? 'hex' : 'latin1', prefixBytes: bcd ? prefix.length / 2 : prefix.length, body, bodyEncoding, bodyBytes,
  };
}

// Text value to wire bytes; the BCD padding rules are documented on `Encoding` in spec.ts.
function packText(value: string, spec: FieldSpec): { text: string; encoding: 'hex' | 'latin1' } {
  if (spec.encoding === 'ascii' || (spec.type !== 'n' && spec.type !== 'z')) return { text: value, encoding: 'latin1' };
  if (spec.type === 'z') {
    const nibbles = value.replaceAll('=', 'D');
    return { text: nibbles.length % 2 === 0 ? nibbles : `${nibbles}F`, encoding: 'hex' };
  }
  if (value.length % 2 === 0) return { text: value, encoding: 'hex' };
  return { text: spec.length === 'fixed' ? `0${value}` : `${value}0`, encoding: 'hex' };
}

/**
 * Decodes a message (ISO 8583:1987, 4.1): MTI, primary bitmap, secondary bitmap when bit 1 is
 * set, then every field the bitmaps announce. Throws Iso8583Error on a bad MTI, a truncated
 * field, a length over the maximum, a non-numeric n field, a field the spec does not know, or
 * bytes left over at the end.
 */
export function decodeMessage(bytes: Buffer, spec: MessageSpec = CUPS_SPEC): Iso8583Message {
  if (bytes.length > ISO8583_MESSAGE_SIZE_MAX) throw new Iso8583Error('too_large', `message of ${bytes.length} bytes`);
  const reader = new Reader(bytes);
  const mtiBytes = reader.take(spec.mtiEncoding === 'bcd' ? 2 : 4, 0);
  const mti = spec.mtiEncoding === 'bcd' ? mtiBytes.toString('hex') : mtiBytes.toString('latin1');
  if (!MTI_PATTERN.test(mti)) throw new Iso8583Error('bad_mti', 'MTI must be 4 digits starting with 0', 0);
  let bitmap = reader.take(8, 1);
  if (isBitSet(bitmap, 1)) bitmap = Buffer.concat([bitmap, reader.take(8, 1)]);
  const fields: Record<number, FieldValue> = {};
  for (let field = 2; field <= bitmap.length * 8; field += 1) {
    if (!isBitSet(bitmap, field)) continue;
    const fieldSpec = spec.fields.get(field);
    if (fieldSpec === undefined) throw new Iso8583Error('unknown_field', 'present in the bitmap but not defined by the spec', field);
    fields[field] = decodeField(reader, field, fieldSpec);
  }
  if (reader.remaining() > 0) throw new Iso8583Error('trailing_bytes', `${reader.remaining()} bytes after the last field`);
  return { mti, fields };
}

class Reader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  take(count: number, field: number): Buffer {
    if (count > this.remaining()) throw new Iso8583Error('truncated', `needs ${count} bytes, ${this.remaining()} remain`, field);
    const slice = Buffer.from(this.bytes.subarray(this.offset, this.offset + count));
    this.offset += count;
    return slice;
  }

  remaining(): number {
    return this.bytes.length - this.offset;
  }
}

function decodeField(reader: Reader, field: number, spec: FieldSpec): FieldValue {
  let length = spec.lengthMax;
  if (spec.length !== 'fixed') {
    const bcd = spec.encoding === 'bcd';
    const prefix = reader.take(spec.length === 'LLVAR' ? (bcd ? 1 : 2) : bcd ? 2 : 3, field);
    const digits = bcd ? prefix.toString('hex') : prefix.toString('latin1');
    if (!/^[0-9]+$/.test(digits)) throw new Iso8583Error('bad_length_prefix', 'length prefix is not decimal', field);
    length = Number(digits);
    if (length > spec.lengthMax) throw new Iso8583Error('length_over_max', `length ${length} over ${spec.lengthMax}`, field);
  }
  const packed = spec.encoding === 'bcd' && (spec.type === 'n' || spec.type === 'z');
  const body = reader.take(packed ? Math.ceil(length / 2) : length, field);
  if (spec.type === 'b') return body;
  const text = packed ? unpackBcd(body, length, field, spec) : body.toString('latin1');
  if (!CHARSETS[spec.type].test(text)) {
    throw new Iso8583Error(spec.type === 'n' ? 'non_numeric' : 'bad_characters', `characters outside ${spec.type}`, field);
  }
  return text;
}

// Inverse of packText: drops the pad nibble, insisting it is the one packText writes so that a
// value has exactly one wire form.
function unpackBcd(body: Buffer, length: number, field: number, spec: FieldSpec): string {
  const nibbles = body.toString('hex').toUpperCase();
  if (nibbles.length === length) return spec.type === 'z' ? nibbles.replaceAll('D', '=') : nibbles;
  const leading = spec.type === 'n' && spec.length === 'fixed';
  const pad = leading ? nibbles[0] : nibbles[nibbles.length - 1];
  if (pad !== (spec.type === 'z' ? 'F' : '0')) {
    throw new Iso8583Error(spec.type === 'n' ? 'non_numeric' : 'bad_characters', 'bad BCD pad nibble', field);
  }
  const digits = leading ? nibbles.slice(1) : nibbles.slice(0, -1);
  return spec.type === 'z' ? digits.replaceAll('D', '=') : digits;
}
