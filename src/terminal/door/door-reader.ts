// A door reader (门禁读卡器): it activates the card in its field (ISO/IEC 14443-3 type A
// anticollision and SELECT), looks the UID up in its allowlist, and — for entries that ask for
// it — authenticates a sector with the configured key and compares a block with the expected
// value, as the better access systems do (a bare UID is easy to clone). Every presentation is
// logged: opened or refused, when, and the UID masked.
import { type KeyType } from '../../protocols/mifare/access-bits.ts';
import type { MifareClassicTag } from '../../protocols/mifare/classic-card.ts';
import { activate, CardAbsentError } from '../../protocols/mifare/classic-reader.ts';
import { maskUid } from '../../protocols/mifare/layout.ts';

export const allowlistMax = 10_000;
export const eventsMax = 1_000;

export interface SectorCheck {
  block: number;
  keyType: KeyType;
  /** 6 bytes, hex. */
  key: string;
  /** The 16 bytes the block must hold, hex. */
  value: string;
}

export interface AllowEntry {
  /** 4 or 7 bytes, uppercase hex. */
  uid: string;
  label: string;
  sector?: SectorCheck;
}

export interface DoorEvent {
  at: string;
  result: 'opened' | 'refused';
  uidMasked: string | null;
  label: string | null;
  reason: string;
}

export interface DoorReaderState {
  name: string;
  allowlist: AllowEntry[];
  events: DoorEvent[];
}

export class DoorReaderError extends Error {
  override readonly name = 'DoorReaderError';
  readonly param: string;

  constructor(message: string, param: string) {
    super(message);
    this.param = param;
  }
}

function hexOf(value: string, bytes: number[], param: string): string {
  const compact = value.replace(/[\s:]/g, '').toUpperCase();
  if (!/^(?:[0-9A-F]{2})+$/.test(compact) || !bytes.includes(compact.length / 2)) {
    throw new DoorReaderError(`${param} must be ${bytes.join(' or ')} bytes of hex.`, param);
  }
  return compact;
}

export class DoorReader {
  readonly state: DoorReaderState;
  readonly #clock: () => Date;

  constructor(state: DoorReaderState, clock: () => Date = () => new Date()) {
    this.state = state;
    this.#clock = clock;
  }

  static empty(name: string): DoorReaderState {
    return { name, allowlist: [], events: [] };
  }

  /** Allows a UID (again: replaces its entry), optionally with a sector value to check. */
  allow(input: { uid: string; label?: string; sector?: SectorCheck }): AllowEntry {
    const uid = hexOf(input.uid, [4, 7], 'uid');
    let sector: SectorCheck | undefined;
    if (input.sector) {
      const { block } = input.sector;
      if (!Number.isInteger(block) || block < 0 || block > 255 || block === 0)
        throw new DoorReaderError('sector block must be a data block 1–255.', 'block');
      if (input.sector.keyType !== 'A' && input.sector.keyType !== 'B')
        throw new DoorReaderError('key type must be A or B.', 'key_type');
      sector = {
        block,
        keyType: input.sector.keyType,
        key: hexOf(input.sector.key, [6], 'key'),
        value: hexOf(input.sector.value, [16], 'value'),
      };
    }
    const label = (input.label ?? '').trim().slice(0, 64);
    const others = this.state.allowlist.filter((e) => e.uid !== uid);
    if (others.length >= allowlistMax)
      throw new DoorReaderError(`The allowlist holds at most ${allowlistMax} cards.`, 'uid');
    const entry: AllowEntry = { uid, label, ...(sector ? { sector } : {}) };
    this.state.allowlist = [...others, entry];
    return entry;
  }

  /** Removes a UID from the allowlist; false when it was not there. */
  deny(uid: string): boolean {
    const compact = hexOf(uid, [4, 7], 'uid');
    const before = this.state.allowlist.length;
    this.state.allowlist = this.state.allowlist.filter((e) => e.uid !== compact);
    return this.state.allowlist.length !== before;
  }

  /** A card (or a phone) in the field: opened or refused, and logged either way. */
  present(tag: MifareClassicTag | null): DoorEvent {
    if (!tag) return this.#log({ result: 'refused', uidMasked: null, label: null, reason: 'no card answered' });
    let uid: Buffer;
    try {
      uid = activate(tag).uid;
    } catch (error) {
      if (!(error instanceof CardAbsentError)) throw error;
      return this.#log({ result: 'refused', uidMasked: null, label: null, reason: 'no card answered' });
    }
    const uidMasked = maskUid(uid);
    const entry = this.state.allowlist.find((e) => e.uid === uid.toString('hex').toUpperCase());
    if (!entry) {
      tag.halt();
      return this.#log({ result: 'refused', uidMasked, label: null, reason: 'card not on the allowlist' });
    }
    if (entry.sector) {
      const check = entry.sector;
      const read = tag.authenticate(check.block, check.keyType, Buffer.from(check.key, 'hex'))
        ? tag.readBlock(check.block)
        : null;
      if (!read)
        return this.#log({
          result: 'refused',
          uidMasked,
          label: entry.label,
          reason: `block ${check.block} could not be read with the configured key`,
        });
      if (read.toString('hex').toUpperCase() !== check.value) {
        tag.halt();
        return this.#log({
          result: 'refused',
          uidMasked,
          label: entry.label,
          reason: `block ${check.block} does not hold the expected value`,
        });
      }
    }
    tag.halt();
    return this.#log({
      result: 'opened',
      uidMasked,
      label: entry.label,
      reason: entry.sector ? 'UID and sector value match' : 'UID on the allowlist',
    });
  }

  #log(event: Omit<DoorEvent, 'at'>): DoorEvent {
    const logged = { at: this.#clock().toISOString(), ...event };
    this.state.events = [...this.state.events.slice(-(eventsMax - 1)), logged];
    return logged;
  }
}
