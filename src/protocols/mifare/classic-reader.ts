// The reader's side of ISO/IEC 14443-3 type A and MIFARE Classic: bring a card in the field to
// the ACTIVE state (anticollision and SELECT through its cascade levels), and read a whole card
// with a list of keys, as the phone does when a door card is held to it.
import { MifareError } from './errors.ts';
import type { MifareClassicTag } from './classic-card.ts';
import { type ClassicImage, type SectorKeys } from './classic-image.ts';
import { defaultClassicKeys } from './default-keys.ts';
import {
  bcc,
  BLOCK_BYTES,
  blocksInSector,
  CASCADE_TAG,
  cardTypeFromSak,
  firstBlockOfSector,
  SAK_CASCADE_BIT,
  sectorCount,
  type CardType,
} from './layout.ts';
import type { KeyType } from './access-bits.ts';

export interface CardIdentity {
  uid: Buffer;
  atqa: number;
  sak: number;
  type: CardType;
}

/** A card that did not answer as ISO/IEC 14443-3 says (gone from the field, or a broken answer). */
export class CardAbsentError extends Error {
  override readonly name = 'CardAbsentError';
}

/**
 * ISO/IEC 14443-3, 6.5.3: WUPA, then anticollision and SELECT per cascade level until the SAK
 * says the UID is complete. Every UID part is checked against its BCC.
 */
export function activate(tag: MifareClassicTag): CardIdentity {
  // A card left selected by an earlier exchange ignores WUPA: HLTA first, as a reader starting over would.
  tag.halt();
  const atqaBytes = tag.request({ wakeUp: true });
  if (!atqaBytes || atqaBytes.length !== 2) throw new CardAbsentError('No card answered in the field.');
  const uidParts: Buffer[] = [];
  let sak = 0;
  for (const level of [1, 2] as const) {
    const answer = tag.anticollision(level);
    if (!answer || answer.length !== 5 || bcc(answer.subarray(0, 4)) !== answer[4])
      throw new CardAbsentError(`The card's cascade level ${level} UID failed its BCC check.`);
    const selected = tag.select(level, answer);
    if (selected === null) throw new CardAbsentError(`The card did not answer SELECT of cascade level ${level}.`);
    sak = selected;
    if ((sak & SAK_CASCADE_BIT) === 0) {
      uidParts.push(answer.subarray(0, 4));
      break;
    }
    if (answer[0] !== CASCADE_TAG)
      throw new CardAbsentError('The card asked for another cascade level without a cascade tag.');
    uidParts.push(answer.subarray(1, 4));
    if (level === 2) throw new CardAbsentError('Triple-size UIDs are not MIFARE Classic.');
  }
  const atqa = atqaBytes[0]! | (atqaBytes[1]! << 8);
  return { uid: Buffer.concat(uidParts), atqa, sak, type: cardTypeFromSak(sak) };
}

/**
 * Authenticates one sector with one key and reads its blocks; null when the key or a block read
 * fails (the card is then woken again).
 */
export function readSector(tag: MifareClassicTag, sector: number, keyType: KeyType, key: Buffer): Buffer[] | null {
  const first = firstBlockOfSector(sector);
  if (!tag.authenticate(first, keyType, key)) {
    activate(tag);
    return null;
  }
  const blocks: Buffer[] = [];
  for (let block = first; block < first + blocksInSector(sector); block++) {
    const data = tag.readBlock(block);
    if (!data || data.length !== BLOCK_BYTES) {
      activate(tag);
      return null;
    }
    blocks.push(data);
  }
  return blocks;
}

/**
 * Reads a card held to the phone with the well-known default keys (default-keys.ts): every
 * sector must open with one of them, with key A or key B, and read in full. The keys that opened
 * a sector are put back into its trailer (a card never reads key A back). Throws MifareError:
 * `card_type_not_supported` naming the type, `card_encrypted` naming the first sector.
 */
export function readWithDefaultKeys(
  tag: MifareClassicTag,
  keys: readonly Buffer[] = defaultClassicKeys.map((k) => Buffer.from(k.key, 'hex')),
): ClassicImage {
  const identity = activate(tag);
  if (identity.type.kind !== 'classic') {
    throw new MifareError(
      'card_type_not_supported',
      `Card type ${identity.type.name} (SAK ${identity.sak.toString(16).padStart(2, '0').toUpperCase()}) ` +
        'is not a MIFARE Classic door card: the phone copies only MIFARE Classic 1K and 4K cards.',
      { where: 'SAK' },
    );
  }
  const size = identity.type.size;
  const blocks: Buffer[] = [];
  const sectorKeys: SectorKeys[] = [];
  for (let sector = 0; sector < sectorCount(size); sector++) {
    let opened: { blocks: Buffer[]; keyType: KeyType; key: Buffer } | null = null;
    for (const keyType of ['A', 'B'] as const) {
      for (const key of keys) {
        const read = readSector(tag, sector, keyType, key);
        if (read) {
          opened = { blocks: read, keyType, key };
          break;
        }
      }
      if (opened) break;
    }
    if (!opened) {
      throw new MifareError(
        'card_encrypted',
        `Sector ${sector} opens only with a key the phone does not know: this card is encrypted ` +
          'and cannot be copied (only cards readable with the well-known default keys can).',
        { sector, where: `sector ${sector}` },
      );
    }
    const trailer = opened.blocks[opened.blocks.length - 1]!;
    const found: SectorKeys = {
      a: opened.keyType === 'A' ? opened.key : null,
      b: opened.keyType === 'B' ? opened.key : null,
    };
    // Key B read as data (conditions 000, 010, 001) is known too; otherwise try the list for it.
    if (!found.b && !trailer.subarray(10, 16).equals(Buffer.alloc(6))) found.b = Buffer.from(trailer.subarray(10, 16));
    if (!found.b) found.b = keys.find((key) => readSector(tag, sector, 'B', key) !== null) ?? null;
    if (!found.a) found.a = keys.find((key) => readSector(tag, sector, 'A', key) !== null) ?? null;
    if (found.a) found.a.copy(trailer, 0);
    if (found.b) found.b.copy(trailer, 10);
    blocks.push(...opened.blocks);
    sectorKeys.push(found);
  }
  return {
    size,
    uid: identity.uid,
    atqa: identity.atqa,
    sak: identity.sak,
    blocks,
    keys: sectorKeys,
    unknownBlocks: [],
  };
}
