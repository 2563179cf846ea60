// A MIFARE Classic card as a reader sees it in its field: the ISO/IEC 14443-3 type A state
// machine (REQA/WUPA, anticollision and SELECT per cascade level, HLTA) and the MIFARE Classic
// commands AUTHENTICATE (key A 0x60 / key B 0x61) and READ (0x30) with the access conditions
// of the sector trailer. The Crypto1 stream cipher is not modelled: an authentication succeeds
// when the reader holds the sector's key, which is what Crypto1's three-pass exchange decides.
import {
  accessBitsReadableWith,
  dataBlockReadableWith,
  keyBReadable,
  keyBReadableWith,
  type KeyType,
} from './access-bits.ts';
import { sectorAccess, type ClassicImage } from './classic-image.ts';
import {
  accessGroupOfBlock,
  cascadeLevelBytes,
  classicLayouts,
  isTrailerBlock,
  sectorOfBlock,
  trailerBlockOfSector,
} from './layout.ts';

/** What a reader talks to: a card, or a phone presenting a stored one. `null` is "no answer" (a NAK or silence). */
export interface MifareClassicTag {
  /** REQA (0x26), or WUPA (0x52) with `wakeUp`, which also wakes a halted card: answers ATQA, 2 bytes LSB first. */
  request(options?: { wakeUp?: boolean }): Buffer | null;
  /** ANTICOLLISION of cascade level 1 (SEL 0x93) or 2 (0x95), all bits: the level's 4 UID bytes and BCC. */
  anticollision(level: 1 | 2): Buffer | null;
  /** SELECT of a cascade level with its 5 bytes: answers SAK (bit 3 set: another level follows). */
  select(level: 1 | 2, uidBytes: Buffer): number | null;
  /** AUTHENTICATE for the sector of `block`; a wrong key leaves the card silent until woken again. */
  authenticate(block: number, keyType: KeyType, key: Buffer): boolean;
  /** READ of one 16-byte block of the authenticated sector, as the access conditions allow. */
  readBlock(block: number): Buffer | null;
  /** HLTA: the card sleeps until a WUPA. */
  halt(): void;
}

type State = 'idle' | 'ready1' | 'ready2' | 'active' | 'authenticated' | 'halt';

/** One card in the field, built from an image; its memory is read-only here (door readers only read). */
export class MifareClassicCard implements MifareClassicTag {
  readonly #image: ClassicImage;
  #state: State = 'idle';
  #authenticated: { sector: number; keyType: KeyType } | null = null;

  constructor(image: ClassicImage) {
    if (image.unknownBlocks.length > 0) throw new TypeError('a card needs every block known');
    this.#image = image;
  }

  get uid(): Buffer {
    return Buffer.from(this.#image.uid);
  }

  request(options: { wakeUp?: boolean } = {}): Buffer | null {
    if (this.#state === 'idle' || (options.wakeUp && this.#state === 'halt')) {
      this.#state = 'ready1';
      this.#authenticated = null;
      return Buffer.from([this.#image.atqa & 0xff, this.#image.atqa >> 8]);
    }
    return null;
  }

  anticollision(level: 1 | 2): Buffer | null {
    if ((level === 1 && this.#state === 'ready1') || (level === 2 && this.#state === 'ready2'))
      return cascadeLevelBytes(this.#image.uid, level);
    return null;
  }

  select(level: 1 | 2, uidBytes: Buffer): number | null {
    const expected =
      (level === 1 && this.#state === 'ready1') || (level === 2 && this.#state === 'ready2')
        ? cascadeLevelBytes(this.#image.uid, level)
        : null;
    if (!expected || !expected.equals(uidBytes)) return this.#silence();
    if (level === 1 && this.#image.uid.length === 7) {
      this.#state = 'ready2';
      return 0x04;
    }
    this.#state = 'active';
    return this.#image.sak;
  }

  authenticate(block: number, keyType: KeyType, key: Buffer): boolean {
    if (this.#state !== 'active' && this.#state !== 'authenticated') return this.#silence() ?? false;
    if (!Number.isInteger(block) || block < 0 || block >= classicLayouts[this.#image.size].blocks)
      return this.#silence() ?? false;
    const sector = sectorOfBlock(block);
    const known = keyType === 'A' ? this.#image.keys[sector]!.a : this.#image.keys[sector]!.b;
    const trailerCondition = sectorAccess(this.#trailer(sector), sector)[3];
    // Key B that is readable data does not authenticate (MF1S50yyX, 8.7.2, the grey rows).
    if (!known || !known.equals(key) || (keyType === 'B' && keyBReadable(trailerCondition)))
      return this.#silence() ?? false;
    this.#state = 'authenticated';
    this.#authenticated = { sector, keyType };
    return true;
  }

  readBlock(block: number): Buffer | null {
    const auth = this.#authenticated;
    if (
      this.#state !== 'authenticated' ||
      !auth ||
      !Number.isInteger(block) ||
      block < 0 ||
      block >= this.#image.blocks.length
    )
      return this.#silence();
    if (sectorOfBlock(block) !== auth.sector) return this.#silence();
    const trailer = this.#trailer(auth.sector);
    const groups = sectorAccess(trailer, auth.sector);
    if (!isTrailerBlock(block)) {
      return dataBlockReadableWith(groups[accessGroupOfBlock(block)]!, auth.keyType, groups[3])
        ? Buffer.from(this.#image.blocks[block]!)
        : this.#silence();
    }
    // Key A never reads back; the access bits and key B as the trailer's conditions say (zeros otherwise).
    const answer = Buffer.alloc(16);
    if (accessBitsReadableWith(groups[3], auth.keyType)) trailer.copy(answer, 6, 6, 10);
    if (keyBReadableWith(groups[3], auth.keyType)) trailer.copy(answer, 10, 10, 16);
    return answer;
  }

  halt(): void {
    this.#state = 'halt';
    this.#authenticated = null;
  }

  #trailer(sector: number): Buffer {
    return this.#image.blocks[trailerBlockOfSector(sector)]!;
  }

  /** A protocol error or a wrong key: the card stops answering until REQA/WUPA (ISO/IEC 14443-3, 6.4). */
  #silence(): null {
    this.#state = 'idle';
    this.#authenticated = null;
    return null;
  }
}
