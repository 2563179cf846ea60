// MIFARE Classic memory layout and ISO/IEC 14443-3 type A identity: which block belongs to which
// sector, where the sector trailers are, the UID's check byte (BCC), and how ATQA and SAK name
// the card type. Pure functions over bytes; the card model and the dump readers build on them.
import assert from 'node:assert/strict';

export type ClassicSize = '1k' | '4k';

/**
 * MIFARE Classic EV1 1K (MF1S50yyX, section 8.6) has 16 sectors of 4 blocks; 4K (MF1S70yyX,
 * section 8.6) has 32 sectors of 4 blocks then 8 sectors of 16 blocks. Every block is 16 bytes.
 */
export const classicLayouts = {
  '1k': { sectors: 16, blocks: 64, bytes: 1024 },
  '4k': { sectors: 40, blocks: 256, bytes: 4096 },
} as const satisfies Record<ClassicSize, { sectors: number; blocks: number; bytes: number }>;

export const BLOCK_BYTES = 16;

export function sectorCount(size: ClassicSize): number {
  return classicLayouts[size].sectors;
}

/** The first block of a sector (4K sectors 32–39 are 16 blocks long). */
export function firstBlockOfSector(sector: number): number {
  assert.ok(Number.isInteger(sector) && sector >= 0 && sector < 40, 'sector out of range');
  return sector < 32 ? sector * 4 : 128 + (sector - 32) * 16;
}

export function blocksInSector(sector: number): number {
  return sector < 32 ? 4 : 16;
}

/** The sector trailer: the last block of the sector (key A, access bits, key B). */
export function trailerBlockOfSector(sector: number): number {
  return firstBlockOfSector(sector) + blocksInSector(sector) - 1;
}

export function sectorOfBlock(block: number): number {
  assert.ok(Number.isInteger(block) && block >= 0 && block < 256, 'block out of range');
  return block < 128 ? Math.floor(block / 4) : 32 + Math.floor((block - 128) / 16);
}

export function isTrailerBlock(block: number): boolean {
  return trailerBlockOfSector(sectorOfBlock(block)) === block;
}

/**
 * The access-condition group (0–3) of a block within its sector: in the 16-block sectors of a 4K
 * card, groups 0–2 cover five blocks each (MF1S70yyX, section 8.7.1).
 */
export function accessGroupOfBlock(block: number): number {
  const sector = sectorOfBlock(block);
  const offset = block - firstBlockOfSector(sector);
  if (sector < 32) return offset;
  return offset === 15 ? 3 : Math.floor(offset / 5);
}

/** ISO/IEC 14443-3, 6.5.3.2: the UID check byte, exclusive-or of the four bytes it follows. */
export function bcc(bytes: Uint8Array): number {
  let check = 0;
  for (const byte of bytes) check ^= byte;
  return check;
}

/** ISO/IEC 14443-3, 6.5.4: the cascade tag that opens a UID longer than one cascade level. */
export const CASCADE_TAG = 0x88;

/**
 * The UID bytes of one cascade level as the card answers an anticollision command
 * (ISO/IEC 14443-3, 6.5.4): for a 4-byte UID, UID0–3; for a 7-byte UID, level 1 is the cascade
 * tag and UID0–2, level 2 is UID3–6. Each is followed by its BCC.
 */
export function cascadeLevelBytes(uid: Buffer, level: 1 | 2): Buffer {
  assert.ok(uid.length === 4 || uid.length === 7, 'UID of 4 or 7 bytes');
  let part: Buffer;
  if (uid.length === 4) {
    assert.equal(level, 1, 'a 4-byte UID has one cascade level');
    part = uid;
  } else {
    part = level === 1 ? Buffer.concat([Buffer.from([CASCADE_TAG]), uid.subarray(0, 3)]) : uid.subarray(3, 7);
  }
  return Buffer.concat([part, Buffer.from([bcc(part)])]);
}

/** ISO/IEC 14443-3, 6.5.2.1: ATQA bits 8–7 give the UID size (00 single, 01 double, 10 triple). */
export function uidLengthFromAtqa(atqa: number): 4 | 7 | 10 | undefined {
  const bits = (atqa >> 6) & 0b11;
  return bits === 0 ? 4 : bits === 1 ? 7 : bits === 2 ? 10 : undefined;
}

/** ISO/IEC 14443-3, 6.5.3.4: SAK bit 3 set means the UID is not complete yet. */
export const SAK_CASCADE_BIT = 0x04;

export type CardType = { kind: 'classic'; size: ClassicSize; name: string } | { kind: 'other'; name: string };

/**
 * What the SAK of the last cascade level says the card is (NXP AN10833, "MIFARE type
 * identification procedure", table 6). Only MIFARE Classic 1K and 4K are door cards this phone
 * copies; an ISO 14443-4 (CPU) card, an Ultralight or a Mini is named and refused.
 */
export function cardTypeFromSak(sak: number): CardType {
  switch (sak) {
    case 0x08:
      return { kind: 'classic', size: '1k', name: 'MIFARE Classic 1K' };
    case 0x88:
      return { kind: 'classic', size: '1k', name: 'MIFARE Classic 1K (Infineon)' };
    case 0x18:
      return { kind: 'classic', size: '4k', name: 'MIFARE Classic 4K' };
    case 0x09:
      return { kind: 'other', name: 'MIFARE Mini' };
    case 0x00:
      return { kind: 'other', name: 'MIFARE Ultralight or NTAG' };
    case 0x10:
    case 0x11:
      return { kind: 'other', name: 'MIFARE Plus (security level 2)' };
    case 0x20:
      return { kind: 'other', name: 'ISO 14443-4 CPU card (DESFire, MIFARE Plus SL3 or a CPU access card)' };
    case 0x28:
    case 0x38:
      return { kind: 'other', name: 'SmartMX CPU card with MIFARE Classic emulation' };
    default:
      return { kind: 'other', name: `unknown card (SAK ${sak.toString(16).padStart(2, '0').toUpperCase()})` };
  }
}

/** A UID as the user sees it with all but its first and last bytes hidden: `04:**:**:A1`. */
export function maskUid(uid: Buffer): string {
  const hex = [...uid].map((b) => b.toString(16).padStart(2, '0').toUpperCase());
  return hex.map((h, i) => (i === 0 || i === hex.length - 1 ? h : '**')).join(':');
}
