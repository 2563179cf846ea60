// An ISO/IEC 14443-4 CPU card (a DESFire or a CPU access card) in the field: it answers the
// type A activation like any card, with SAK 0x20 (ISO 14443-4 compliant), and then speaks APDUs,
// not MIFARE Classic commands — a MIFARE AUTHENTICATE gets no answer.
import type { MifareClassicTag } from '../../protocols/mifare/classic-card.ts';
import { cascadeLevelBytes } from '../../protocols/mifare/layout.ts';

export class CpuCardEmulator implements MifareClassicTag {
  readonly #uid: Buffer;
  #state: 'idle' | 'ready1' | 'ready2' | 'active' | 'halt' = 'idle';

  /** A 7-byte UID and ATQA 0x0344, as a MIFARE DESFire EV1 answers (NXP AN10833, table 6). */
  constructor(uid: Buffer = Buffer.from('04518A2AE35E80', 'hex')) {
    this.#uid = uid;
  }

  request(options: { wakeUp?: boolean } = {}): Buffer | null {
    if (this.#state !== 'idle' && !(options.wakeUp && this.#state === 'halt')) return null;
    this.#state = 'ready1';
    return Buffer.from([0x44, 0x03]);
  }

  anticollision(level: 1 | 2): Buffer | null {
    return this.#state === `ready${level}` ? cascadeLevelBytes(this.#uid, level) : null;
  }

  select(level: 1 | 2, uidBytes: Buffer): number | null {
    if (this.#state !== `ready${level}` || !cascadeLevelBytes(this.#uid, level).equals(uidBytes)) return null;
    if (level === 1) {
      this.#state = 'ready2';
      return 0x04;
    }
    this.#state = 'active';
    return 0x20;
  }

  authenticate(): boolean {
    this.#state = 'idle';
    return false;
  }

  readBlock(): Buffer | null {
    this.#state = 'idle';
    return null;
  }

  halt(): void {
    this.#state = 'halt';
  }
}
