// A MIFARE Classic card's whole memory with its identity, checked: what a dump file describes
// and what the phone keeps of a card it read. Checks follow the card itself: block 0 carries the
// UID (and, for 4-byte UIDs, its BCC), every sector trailer carries valid access bits, and
// ATQA/SAK agree with the UID length and the memory size.
import assert from 'node:assert/strict';
import {
  accessBitsReadableWith,
  dataBlockReadableWith,
  decodeAccessBits,
  keyBReadable,
  type AccessCondition,
  type KeyType,
} from './access-bits.ts';
import { isDefaultKey } from './default-keys.ts';
import { MifareError } from './errors.ts';
import {
  accessGroupOfBlock,
  bcc,
  BLOCK_BYTES,
  blocksInSector,
  cardTypeFromSak,
  classicLayouts,
  firstBlockOfSector,
  sectorCount,
  trailerBlockOfSector,
  uidLengthFromAtqa,
  type ClassicSize,
} from './layout.ts';

export interface SectorKeys {
  /** 6 bytes, or null when the dump (or the reading phone) does not know it. */
  a: Buffer | null;
  b: Buffer | null;
}

export interface ClassicImage {
  size: ClassicSize;
  uid: Buffer;
  /** ATQA as a 16-bit number (ISO/IEC 14443-3 sends it least significant byte first). */
  atqa: number;
  /** SAK of the last cascade level. */
  sak: number;
  /** Every block, trailers with their keys in place (zeros where a key is not known). */
  blocks: Buffer[];
  keys: SectorKeys[];
  /** Blocks whose contents are not known (a Flipper dump's `??`); an image with any is not a card. */
  unknownBlocks: number[];
}

/** What a dump reader found in a file, before any check. */
export interface ParsedDump {
  format: string;
  /** Block by block; null for a block the file marks unknown. */
  blocks: (Buffer | null)[];
  /** Trailer keys the file marks unknown. */
  unknownKeys: { sector: number; key: KeyType }[];
  /** The identity the file states next to the blocks (JSON and .nfc files do; raw dumps do not). */
  card?: { uid: Buffer; atqa: number; sak: number };
}

export function atqaHex(atqa: number): string {
  return atqa.toString(16).padStart(4, '0').toUpperCase();
}

/** The conditions of a sector's four groups; throws `access_bits_invalid` naming the sector. */
export function sectorAccess(
  trailer: Buffer,
  sector: number,
): [AccessCondition, AccessCondition, AccessCondition, AccessCondition] {
  const groups = decodeAccessBits(trailer.subarray(6, 9));
  if (!groups) {
    throw new MifareError(
      'access_bits_invalid',
      `Sector ${sector}'s trailer has access bits that disagree with their inverses ` +
        `(${trailer.subarray(6, 10).toString('hex').toUpperCase()}): a card would block this sector.`,
      { sector, where: `sector ${sector}` },
    );
  }
  return groups;
}

/**
 * Checks a dump and makes it an image: 64 or 256 blocks, block 0's UID and BCC, ATQA and SAK of
 * a MIFARE Classic of that size, valid access bits in every trailer. Throws MifareError.
 */
export function imageFromDump(dump: ParsedDump): ClassicImage {
  const size: ClassicSize | undefined =
    dump.blocks.length === 64 ? '1k' : dump.blocks.length === 256 ? '4k' : undefined;
  if (!size) {
    throw new MifareError(
      'dump_invalid',
      `The ${dump.format} holds ${dump.blocks.length} blocks; a MIFARE Classic 1K has 64 and a 4K has 256.`,
      { where: 'blocks' },
    );
  }
  const block0 = dump.blocks[0];
  if (!block0)
    throw new MifareError('dump_invalid', `The ${dump.format} does not know block 0 (the UID block).`, {
      where: 'blocks.0',
    });
  for (const [i, block] of dump.blocks.entries())
    assert.ok(block === null || block.length === BLOCK_BYTES, `block ${i} is 16 bytes`);

  let uid: Buffer;
  if (dump.card) {
    uid = dump.card.uid;
    if (uid.length !== 4 && uid.length !== 7)
      throw new MifareError('dump_invalid', `The UID has ${uid.length} bytes; MIFARE Classic UIDs have 4 or 7.`, {
        where: 'UID',
      });
    if (!block0.subarray(0, uid.length).equals(uid)) {
      throw new MifareError('uid_mismatch', `The file's UID does not match the UID in block 0.`, { where: 'blocks.0' });
    }
  } else {
    uid = block0.subarray(0, 4);
  }
  if (uid.length === 4 && block0[4] !== bcc(uid)) {
    throw new MifareError(
      'bcc_invalid',
      'Block 0 byte 4 is not the BCC (exclusive-or) of the 4-byte UID: the block is damaged' +
        `${dump.card ? '' : ' (a 7-byte-UID card needs a file that names its UID: .json or .nfc)'}.`,
      { where: 'blocks.0' },
    );
  }
  // A raw dump's identity is the manufacturer block's: SAK at byte 5, ATQA at bytes 6–7 (LSB first).
  const atqa = dump.card?.atqa ?? block0[6]! | (block0[7]! << 8);
  const sak = dump.card?.sak ?? block0[5]!;
  const type = cardTypeFromSak(sak);
  if (type.kind !== 'classic')
    throw new MifareError(
      'card_type_not_supported',
      `The ${dump.format} describes card type ${type.name}, not a MIFARE Classic door card.`,
      { where: 'SAK' },
    );
  if (type.size !== size) {
    throw new MifareError(
      'card_type_not_supported',
      `SAK ${sak.toString(16).padStart(2, '0')} says ${type.name} but the file holds ${dump.blocks.length} blocks.`,
      { where: 'SAK' },
    );
  }
  if (uidLengthFromAtqa(atqa) !== uid.length) {
    throw new MifareError(
      'dump_invalid',
      `ATQA ${atqaHex(atqa)} announces a ${uidLengthFromAtqa(atqa) ?? '?'}-byte UID ` +
        `but the UID has ${uid.length} bytes.`,
      { where: 'ATQA' },
    );
  }

  const keys: SectorKeys[] = [];
  const unknownBlocks: number[] = [];
  const blocks = dump.blocks.map((block, i) => {
    if (block === null) unknownBlocks.push(i);
    return block ?? Buffer.alloc(BLOCK_BYTES);
  });
  for (let sector = 0; sector < sectorCount(size); sector++) {
    const trailerIndex = trailerBlockOfSector(sector);
    const trailer = dump.blocks[trailerIndex];
    if (!trailer) {
      keys.push({ a: null, b: null });
      continue;
    }
    sectorAccess(trailer, sector);
    const unknown = (key: KeyType) => dump.unknownKeys.some((k) => k.sector === sector && k.key === key);
    keys.push({
      a: unknown('A') ? null : Buffer.from(trailer.subarray(0, 6)),
      b: unknown('B') ? null : Buffer.from(trailer.subarray(10, 16)),
    });
  }
  return { size, uid: Buffer.from(uid), atqa, sak, blocks, keys, unknownBlocks };
}

/**
 * Which key of the list opens a sector and reads all of its data blocks: key A first, then key
 * B where key B can authenticate (it cannot when it is readable data). Undefined when none.
 */
export function keyOpeningSector(
  image: ClassicImage,
  sector: number,
  isKnown: (key: Buffer) => boolean,
): KeyType | undefined {
  const first = firstBlockOfSector(sector);
  const trailerIndex = trailerBlockOfSector(sector);
  if (image.unknownBlocks.includes(trailerIndex)) return undefined;
  const groups = sectorAccess(image.blocks[trailerIndex]!, sector);
  const trailerCondition = groups[3];
  for (const type of ['A', 'B'] as const) {
    const key = type === 'A' ? image.keys[sector]!.a : image.keys[sector]!.b;
    if (!key || !isKnown(key)) continue;
    if (type === 'B' && keyBReadable(trailerCondition)) continue;
    if (!accessBitsReadableWith(trailerCondition, type)) continue;
    let all = true;
    for (let block = first; block < trailerIndex; block++) {
      if (
        image.unknownBlocks.includes(block) ||
        !dataBlockReadableWith(groups[accessGroupOfBlock(block)]!, type, trailerCondition)
      )
        all = false;
    }
    if (all) return type;
  }
  return undefined;
}

/**
 * The phone's rule for a door card: every sector opens with a well-known default key and reads
 * in full. Throws `card_encrypted` naming the first sector that needs another key.
 */
export function assertUnencrypted(image: ClassicImage): void {
  for (let sector = 0; sector < sectorCount(image.size); sector++) {
    if (!keyOpeningSector(image, sector, isDefaultKey)) {
      throw new MifareError(
        'card_encrypted',
        `Sector ${sector} opens only with a key the phone does not know: this card is encrypted ` +
          'and cannot be copied (only cards readable with the well-known default keys can).',
        { sector, where: `sector ${sector}` },
      );
    }
  }
}

export { blocksInSector, classicLayouts };
