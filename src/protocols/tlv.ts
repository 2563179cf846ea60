// BER-TLV as EMV uses it: EMV 4.4 Book 3, Annex B (a profile of ISO/IEC 8825-1 BER).
// Everything a card or a terminal sends is parsed here, so the decoder treats its input as
// hostile: every length is checked against the bytes that are really there, nesting and total
// size are bounded, and any failure is a TlvError with a stable code, never a RangeError from
// reading past a buffer or a value that was quietly cut short.

/** How deep constructed objects may nest; EMV templates go 3 or 4 levels deep at most. */
export const TLV_DEPTH_MAX = 8;
/** Largest input decoded by default: the biggest extended-length APDU response. */
export const TLV_SIZE_MAX = 65_536;
/** EMV tags are 1–2 bytes (Book 3, B1); kernel-specific tags such as DF8101 need 3. */
export const TLV_TAG_BYTES_MAX = 3;

export type TlvErrorCode =
  | 'bad_tag' // tag text malformed, a tag that cannot be told from padding, or children on a primitive tag
  | 'truncated_tag' // a multi-byte tag runs past the end of the data
  | 'tag_too_long' // more than TLV_TAG_BYTES_MAX tag bytes
  | 'truncated_length' // the length field runs past the end of the data
  | 'indefinite_length' // 0x80: allowed by BER, forbidden by EMV (Book 3, B2)
  | 'length_field_too_long' // more than 3 subsequent length bytes (84 and up)
  | 'non_minimal_length' // e.g. 81 05: a longer length form than the value needs
  | 'length_exceeds_buffer' // the length says more bytes than remain
  | 'too_deep' // constructed objects nested beyond depthMax
  | 'too_large'; // input or value bigger than the size limit

/** The one error TLV decoding and encoding throw. */
export class TlvError extends Error {
  override readonly name = 'TlvError';
  readonly code: TlvErrorCode;
  /** Byte offset in the decoded input where the problem starts, when decoding. */
  readonly offset: number | undefined;

  constructor(code: TlvErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.code = code;
    this.offset = offset;
  }
}

/**
 * One BER-TLV data object. `tag` is uppercase hex ("9F02"). `value` is always the raw value
 * field; for a constructed object `children` holds the same bytes parsed, and `value` stays
 * available because signatures and MACs are computed over the raw encoding.
 */
export interface TlvNode {
  readonly tag: string;
  readonly value: Buffer;
  readonly children?: readonly TlvNode[];
}

export interface TlvDecodeOptions {
  /** Nesting levels allowed; top-level objects are level 1. Default TLV_DEPTH_MAX. */
  depthMax?: number;
  /** Largest input accepted, in bytes. Default TLV_SIZE_MAX. */
  sizeMax?: number;
}

/**
 * Reads one tag field at `offset` (EMV Book 3, B1: if b5–b1 of the first byte are all 1, more
 * bytes follow while b8 of the subsequent byte is 1). Returns the tag as uppercase hex and the
 * offset after it.
 */
export function decodeTag(data: Buffer, offset: number, end = data.length): { tag: string; next: number } {
  const first = data[offset];
  if (first === undefined || offset >= end) throw new TlvError('truncated_tag', 'tag missing', offset);
  // 00 and FF are padding between objects (Book 3, B1), so they can never start a tag.
  if (first === 0x00 || first === 0xff) throw new TlvError('bad_tag', 'tag byte 00 or FF', offset);
  let cursor = offset + 1;
  if ((first & 0x1f) === 0x1f) {
    for (;;) {
      const byte = data[cursor];
      if (byte === undefined || cursor >= end) throw new TlvError('truncated_tag', 'multi-byte tag cut short', offset);
      cursor += 1;
      if (cursor - offset > TLV_TAG_BYTES_MAX) throw new TlvError('tag_too_long', 'tag longer than 3 bytes', offset);
      if ((byte & 0x80) === 0) break;
    }
  }
  return { tag: data.toString('hex', offset, cursor).toUpperCase(), next: cursor };
}

// Length field per EMV Book 3, B2: one byte 00–7F, or 81/82/83 followed by 1–3 bytes.
// A length written longer than needed is refused so that every object has one encoding,
// which keeps MAC inputs and round trips unambiguous.
function decodeLength(data: Buffer, offset: number, end: number): { length: number; next: number } {
  const first = data[offset];
  if (first === undefined || offset >= end) throw new TlvError('truncated_length', 'length missing', offset);
  if (first < 0x80) return { length: first, next: offset + 1 };
  if (first === 0x80) throw new TlvError('indefinite_length', 'indefinite length', offset);
  const count = first & 0x7f;
  if (count > 3) throw new TlvError('length_field_too_long', `length field of ${count} bytes`, offset);
  if (offset + 1 + count > end) throw new TlvError('truncated_length', 'length field cut short', offset);
  let length = 0;
  for (let index = 1; index <= count; index += 1) length = length * 256 + (data[offset + index] ?? 0);
  const minimum = count === 1 ? 0x80 : 256 ** (count - 1);
  if (length < minimum) throw new TlvError('non_minimal_length', 'length not in its shortest form', offset);
  return { length, next: offset + 1 + count };
}

/** Whether a tag denotes a constructed object: b6 of its first byte (ISO 8825-1, 8.1.2.5). */
export function isConstructedTag(tag: string): boolean {
  return (tagToBytes(tag)[0]! & 0x20) !== 0;
}

/**
 * Decodes a sequence of BER-TLV objects (EMV Book 3, Annex B), recursing into constructed
 * ones and skipping 00/FF padding before, between and after objects (B1).
 * Throws TlvError on any malformed, truncated, too deep or too large input.
 */
export function decodeTlv(data: Buffer, options: TlvDecodeOptions = {}): TlvNode[] {
  const depthMax = options.depthMax ?? TLV_DEPTH_MAX;
  const sizeMax = options.sizeMax ?? TLV_SIZE_MAX;
  if (data.length > sizeMax) throw new TlvError('too_large', `input of ${data.length} bytes over ${sizeMax}`);
  return decodeRange(data, 0, data.length, 1, depthMax);
}

function decodeRange(data: Buffer, start: number, end: number, depth: number, depthMax: number): TlvNode[] {
  const nodes: TlvNode[] = [];
  let cursor = start;
  while (cursor < end) {
    const first = data[cursor]!;
    if (first === 0x00 || first === 0xff) {
      cursor += 1;
      continue;
    }
    const { tag, next } = decodeTag(data, cursor, end);
    const { length, next: valueStart } = decodeLength(data, next, end);
    if (length > end - valueStart) {
      throw new TlvError('length_exceeds_buffer', `tag ${tag} says ${length} bytes, ${end - valueStart} remain`, next);
    }
    const valueEnd = valueStart + length;
    // Copied, so a decoded value never aliases (and pins) a socket or file buffer.
    const value = Buffer.from(data.subarray(valueStart, valueEnd));
    if ((first & 0x20) !== 0) {
      if (depth >= depthMax) throw new TlvError('too_deep', `nesting deeper than ${depthMax}`, cursor);
      nodes.push({ tag, value, children: decodeRange(data, valueStart, valueEnd, depth + 1, depthMax) });
    } else {
      nodes.push({ tag, value });
    }
    cursor = valueEnd;
  }
  return nodes;
}

// Parses and checks tag text: uppercase or lowercase hex, a single byte unless b5–b1 of the
// first byte are all 1, continuation bytes with b8 = 1 and a last byte with b8 = 0.
function tagToBytes(tag: string): Buffer {
  if (!/^(?:[0-9A-Fa-f]{2}){1,3}$/.test(tag)) throw new TlvError('bad_tag', `tag "${tag}" is not 1–3 hex bytes`);
  const bytes = Buffer.from(tag, 'hex');
  const first = bytes[0]!;
  if (first === 0x00 || first === 0xff) throw new TlvError('bad_tag', `tag ${tag} cannot be told from padding`);
  const multiByte = (first & 0x1f) === 0x1f;
  if (!multiByte) {
    if (bytes.length !== 1) throw new TlvError('bad_tag', `tag ${tag}: a one-byte tag number has no subsequent bytes`);
    return bytes;
  }
  if (bytes.length < 2) throw new TlvError('bad_tag', `tag ${tag}: subsequent byte missing`);
  for (let index = 1; index < bytes.length; index += 1) {
    const last = index === bytes.length - 1;
    const continues = (bytes[index]! & 0x80) !== 0;
    if (continues === last) throw new TlvError('bad_tag', `tag ${tag}: bad continuation bit`);
  }
  return bytes;
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length <= 0xff) return Buffer.from([0x81, length]);
  if (length <= 0xffff) return Buffer.from([0x82, length >> 8, length & 0xff]);
  if (length <= 0xffffff) return Buffer.from([0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
  throw new TlvError('too_large', `value of ${length} bytes does not fit a 3-byte length`);
}

function encodeNode(node: TlvNode, depth: number): Buffer {
  const tagBytes = tagToBytes(node.tag);
  const constructed = (tagBytes[0]! & 0x20) !== 0;
  // The decoder refuses deeper trees, so the encoder never produces one.
  if (constructed && depth >= TLV_DEPTH_MAX) throw new TlvError('too_deep', `nesting deeper than ${TLV_DEPTH_MAX}`);
  let value = node.value;
  if (node.children !== undefined) {
    if (!constructed) throw new TlvError('bad_tag', `tag ${node.tag} is primitive but has children`);
    value = Buffer.concat(node.children.map((child) => encodeNode(child, depth + 1)));
  }
  return Buffer.concat([tagBytes, encodeLength(value.length), value]);
}

/**
 * Encodes one object or a sequence (EMV Book 3, Annex B) using the shortest length form.
 * A constructed node with `children` is encoded from its children; without them, from
 * `value` as given (already-encoded content).
 */
export function encodeTlv(nodes: TlvNode | readonly TlvNode[]): Buffer {
  const list = isNodeList(nodes) ? nodes : [nodes];
  return Buffer.concat(list.map((node) => encodeNode(node, 1)));
}

function isNodeList(nodes: TlvNode | readonly TlvNode[]): nodes is readonly TlvNode[] {
  return Array.isArray(nodes);
}

/**
 * Builds a data object (EMV Book 3, Annex B): primitive from a Buffer, constructed from a list
 * of children. A constructed node's `value` is the encoding of its children, exactly as
 * `decodeTlv` would return it.
 */
export function tlv(tag: string, content: Buffer | readonly TlvNode[]): TlvNode {
  if (Buffer.isBuffer(content)) {
    tagToBytes(tag);
    return { tag: tag.toUpperCase(), value: content };
  }
  if (!isConstructedTag(tag)) throw new TlvError('bad_tag', `tag ${tag} is primitive but has children`);
  const children = [...content];
  return { tag: tag.toUpperCase(), value: encodeTlv(children), children };
}

/** Finds the first object with `tag` anywhere in the tree, depth first in encoding order. */
export function findTlv(nodes: readonly TlvNode[], tag: string): TlvNode | undefined {
  const wanted = tag.toUpperCase();
  for (const node of nodes) {
    if (node.tag === wanted) return node;
    if (node.children !== undefined) {
      const found = findTlv(node.children, wanted);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The value of the first object with `tag` anywhere in the tree, or undefined. */
export function findTlvValue(nodes: readonly TlvNode[], tag: string): Buffer | undefined {
  return findTlv(nodes, tag)?.value;
}

/**
 * Every primitive object in the tree as tag → value, the first occurrence winning. EMV data
 * elements are unique per application (Book 3, 7.5), so this is the terminal's view of the
 * card data, ready to feed `buildDolData`.
 */
export function flattenTlv(nodes: readonly TlvNode[], into = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const node of nodes) {
    if (node.children !== undefined) flattenTlv(node.children, into);
    else if (!into.has(node.tag)) into.set(node.tag, node.value);
  }
  return into;
}
