// MIFARE Classic access conditions (MF1S50yyX / MF1S70yyX datasheets, section 8.7): bytes 6–8 of a
// sector trailer hold three bits C1 C2 C3 per block group, each stored once as is and once
// inverted. A trailer whose bits and inverses disagree blocks its sector for good on a real card,
// so a card image carrying one is refused rather than copied.

export type KeyType = 'A' | 'B';
/** C1 C2 C3 of one block group as a number 0–7 (C1 is the high bit). */
export type AccessCondition = number;

/** The four groups' conditions (index 3 is the trailer); undefined when the inverses disagree. */
export function decodeAccessBits(
  bytes: Uint8Array,
): [AccessCondition, AccessCondition, AccessCondition, AccessCondition] | undefined {
  const [b6, b7, b8] = [bytes[0]!, bytes[1]!, bytes[2]!];
  const c1 = b7 >> 4;
  const c2 = b8 & 0x0f;
  const c3 = b8 >> 4;
  if ((~b6 & 0x0f) !== c1 || ((~b6 >> 4) & 0x0f) !== c2 || (~b7 & 0x0f) !== c3) return undefined;
  const group = (i: number) => (((c1 >> i) & 1) << 2) | (((c2 >> i) & 1) << 1) | ((c3 >> i) & 1);
  return [group(0), group(1), group(2), group(3)];
}

/** The three access bytes (6–8) for four groups' conditions, inverses included. */
export function encodeAccessBits(groups: readonly AccessCondition[]): Buffer {
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  groups.forEach((condition, i) => {
    c1 |= ((condition >> 2) & 1) << i;
    c2 |= ((condition >> 1) & 1) << i;
    c3 |= (condition & 1) << i;
  });
  return Buffer.from([((~c2 & 0x0f) << 4) | (~c1 & 0x0f), (c1 << 4) | (~c3 & 0x0f), (c3 << 4) | c2]);
}

/** The transport configuration of a new card: data blocks 000, trailer 001 (bytes FF 07 80, user byte 69). */
export const TRANSPORT_ACCESS_BYTES = Buffer.from([0xff, 0x07, 0x80, 0x69]);

/** Trailer conditions under which key B is readable data, and so cannot authenticate (table 7's grey rows). */
export function keyBReadable(trailerCondition: AccessCondition): boolean {
  return trailerCondition === 0b000 || trailerCondition === 0b010 || trailerCondition === 0b001;
}

/** Table 8: which key may read a data block under its condition. */
export function dataBlockReadableWith(
  condition: AccessCondition,
  key: KeyType,
  trailerCondition: AccessCondition,
): boolean {
  if (key === 'B' && keyBReadable(trailerCondition)) return false;
  if (condition === 0b111) return false;
  if (condition === 0b011 || condition === 0b101) return key === 'B';
  return true;
}

/** Table 7: whether the access bits of the trailer may be read with this key. */
export function accessBitsReadableWith(trailerCondition: AccessCondition, key: KeyType): boolean {
  if (key === 'B' && keyBReadable(trailerCondition)) return false;
  return key === 'A' || ![0b000, 0b010, 0b001].includes(trailerCondition);
}

/** Table 7: key B is read (with key A) under the conditions where it is data; key A never reads back. */
export function keyBReadableWith(trailerCondition: AccessCondition, key: KeyType): boolean {
  return key === 'A' && keyBReadable(trailerCondition);
}
