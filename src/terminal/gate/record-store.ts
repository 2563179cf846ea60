// The gate's offline record store: taps waiting for upload, a tap torn after DEBIT waiting for
// the card to come back, and the terminal counter — one JSON file, written atomically (temp
// file, fsync, rename) before the gate opens, so a power cut loses nothing. Or memory only.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { TapRecord } from '../../transit/client.ts';

/** A tap whose DEBIT went out without an answer: finished by GET TRANSACTION PROVE at the card's next tap. */
export interface PendingTap {
  record: Omit<TapRecord, 'tac'>;
  /** The trip record written with this DEBIT (hex), if any. */
  trip: string | null;
}

export interface GateRecords {
  terminalSeq: number;
  /** Completed taps not yet accepted by the operator. */
  unsent: TapRecord[];
  pending: PendingTap[];
  /** What the operator refused, with its reason (kept for the operator's staff). */
  refused: (TapRecord & { reason: string })[];
  uploadedCount: number;
  /** The operator (brand) the gate belongs to, written when the store is made. */
  brandCode?: string;
}

/** Records kept at most while the gate is offline; past it the gate stops charging (it must upload). */
export const UNSENT_RECORDS_MAX = 100_000;

export class GateRecordStore {
  readonly #path: string | null;
  data: GateRecords;

  constructor(path: string | null) {
    this.#path = path;
    this.data = path && existsSync(path)
      ? JSON.parse(readFileSync(path, 'utf8'), (k, v) => (k === 'amountFen' ? BigInt(v) : v)) as GateRecords
      : { terminalSeq: 0, unsent: [], pending: [], refused: [], uploadedCount: 0 };
  }

  save(): void {
    if (!this.#path) return;
    const tmp = `${this.#path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(this.data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#path);
  }
}
