// A physical MIFARE Classic access card, emulated: from a dump file (its keys included, so an
// encrypted card can be emulated too), or made fresh with chosen UID and keys. Tests, the CLI
// and the demo hold it to the phone or to a door reader.
import { randomBytes } from 'node:crypto';
import { encodeAccessBits, TRANSPORT_ACCESS_BYTES, type AccessCondition } from '../../protocols/mifare/access-bits.ts';
import { MifareClassicCard } from '../../protocols/mifare/classic-card.ts';
import type { ClassicImage } from '../../protocols/mifare/classic-image.ts';
import { readDumpFile } from '../../protocols/mifare/dump-file.ts';
import { MifareError } from '../../protocols/mifare/errors.ts';
import {
  bcc,
  classicLayouts,
  sectorCount,
  trailerBlockOfSector,
  type ClassicSize,
} from '../../protocols/mifare/layout.ts';

export interface GeneratedCardOptions {
  size: ClassicSize;
  /** 4 or 7 bytes; random (NXP-style, first byte 0x04 for 7 bytes) when absent. */
  uid?: Buffer;
  /** Key A and B of every sector unless `sectorKeys` says otherwise (default FFFFFFFFFFFF, the transport key). */
  keyA?: Buffer;
  keyB?: Buffer;
  sectorKeys?: Record<number, { a?: Buffer; b?: Buffer; access?: readonly AccessCondition[] }>;
  /** Data blocks to fill, by block number (16 bytes each). */
  data?: Record<number, Buffer>;
}

/**
 * The image of a new card: block 0 with UID, BCC (4-byte UIDs), SAK and ATQA, transport access
 * bits, the given keys and data.
 */
export function generateClassicImage(options: GeneratedCardOptions): ClassicImage {
  const uid =
    options.uid ?? (Math.random() < 0.5 ? randomBytes(4) : Buffer.concat([Buffer.from([0x04]), randomBytes(6)]));
  if (uid.length !== 4 && uid.length !== 7) throw new RangeError('a MIFARE Classic UID has 4 or 7 bytes');
  const sak = options.size === '1k' ? 0x08 : 0x18;
  const atqa = (uid.length === 7 ? 0x0040 : 0x0000) | (options.size === '1k' ? 0x0004 : 0x0002);
  const blocks = Array.from({ length: classicLayouts[options.size].blocks }, () => Buffer.alloc(16));
  const block0 = blocks[0]!;
  uid.copy(block0, 0);
  if (uid.length === 4) {
    block0[4] = bcc(uid);
    block0[5] = sak;
    block0.writeUInt16LE(atqa, 6);
    Buffer.from('6263646566676869', 'hex').copy(block0, 8);
  } else {
    block0[7] = sak;
    block0.writeUInt16LE(atqa, 8);
  }
  for (const [block, bytes] of Object.entries(options.data ?? {})) bytes.copy(blocks[Number(block)]!, 0, 0, 16);
  const keys = [];
  for (let sector = 0; sector < sectorCount(options.size); sector++) {
    const own = options.sectorKeys?.[sector];
    const a = own?.a ?? options.keyA ?? Buffer.from('FFFFFFFFFFFF', 'hex');
    const b = own?.b ?? options.keyB ?? Buffer.from('FFFFFFFFFFFF', 'hex');
    const trailer = blocks[trailerBlockOfSector(sector)]!;
    a.copy(trailer, 0);
    (own?.access ? Buffer.concat([encodeAccessBits(own.access), Buffer.from([0x69])]) : TRANSPORT_ACCESS_BYTES).copy(
      trailer,
      6,
    );
    b.copy(trailer, 10);
    keys.push({ a: Buffer.from(a), b: Buffer.from(b) });
  }
  return { size: options.size, uid: Buffer.from(uid), atqa, sak, blocks, keys, unknownBlocks: [] };
}

/** A card made from a dump file's bytes; every key must be in the file (a card knows all its keys). */
export function cardFromDumpFile(fileName: string, bytes: Buffer): MifareClassicCard {
  const image = readDumpFile(fileName, bytes);
  if (image.unknownBlocks.length > 0 || image.keys.some((k) => !k.a || !k.b)) {
    throw new MifareError(
      'dump_invalid',
      `${fileName} does not know every block and key of the card, so it cannot be emulated as the card itself.`,
      { where: 'blocks' },
    );
  }
  return new MifareClassicCard(image);
}

/** A fresh card with the given identity and keys. */
export function generateClassicCard(options: GeneratedCardOptions): MifareClassicCard {
  return new MifareClassicCard(generateClassicImage(options));
}

/** The image as a Proxmark3 `.bin` dump (raw memory, keys in the trailers), for `mipay door make-card`. */
export function imageToProxmarkBin(image: ClassicImage): Buffer {
  return Buffer.concat(image.blocks);
}

/**
 * The image as a Proxmark3 JSON dump (`"FileType": "mfc v2"`: Card {UID, ATQA as sent, SAK},
 * blocks, SectorKeys), the format that can carry a 7-byte UID.
 */
export function imageToProxmarkJson(image: ClassicImage): string {
  const hex = (b: Buffer) => b.toString('hex').toUpperCase();
  const sectorKeys: Record<string, { KeyA: string; KeyB: string; AccessConditions: string }> = {};
  for (let sector = 0; sector < sectorCount(image.size); sector++) {
    const trailer = image.blocks[trailerBlockOfSector(sector)]!;
    sectorKeys[String(sector)] = {
      KeyA: hex(trailer.subarray(0, 6)),
      KeyB: hex(trailer.subarray(10, 16)),
      AccessConditions: hex(trailer.subarray(6, 10)),
    };
  }
  return `${JSON.stringify(
    {
      Created: 'proxmark3',
      FileType: 'mfc v2',
      Card: {
        UID: hex(image.uid),
        ATQA: hex(Buffer.from([image.atqa & 0xff, image.atqa >> 8])),
        SAK: hex(Buffer.from([image.sak])),
      },
      blocks: Object.fromEntries(image.blocks.map((b, i) => [String(i), hex(b)])),
      SectorKeys: sectorKeys,
    },
    null,
    2,
  )}\n`;
}
