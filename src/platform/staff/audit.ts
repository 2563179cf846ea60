import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import type { StaffTables } from './tables.ts';

/** What one staff action writes to the audit log. */
export interface AuditInput {
  /** The staff member who acted; null for the system itself (a periodic job, the CLI creating the first admin). */
  staffId: string | null;
  /** What was done, dotted and stable: `staff.login`, `user.transactions.read`, `complaint.export`. */
  action: string;
  /** Why, in the staff member's words; required for every look at a user's data. */
  reason?: string | null;
  /** The user whose data was seen or changed, if any: the audit log answers "who looked at this user, and why". */
  subjectUserId?: string | null;
  /** The object acted on: `ticket` + its id, `staff` + its id, `complaint` + its id. */
  subjectType?: string | null;
  subjectId?: string | null;
  /** Non-secret facts (never a password, a code, an ID number or a card number). */
  details?: Record<string, unknown>;
  /** The staff member's client address. */
  ip?: string | null;
}

export type AuditEntry = StaffTables['staff_audit_log'];

/** A problem `verify` found: the entry's sequence number and what is wrong with it. */
export interface AuditBreak {
  seq: string;
  problem: 'hash_mismatch' | 'chain_broken' | 'sequence_gap' | 'head_mismatch';
}

export const genesisHash = '0'.repeat(64);
const detailsLengthMax = 4_000;
const reasonLengthMax = 500;
const verifyBatchSize = 1_000;

/**
 * SHA-256 over the entry's fields in a fixed order, the previous entry's hash among them: changing,
 * inserting or removing any entry changes every hash after it.
 */
export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const content = JSON.stringify([
    String(entry.seq), entry.id, entry.at.toISOString(), entry.staff_id, entry.action, entry.reason, entry.subject_user_id,
    entry.subject_type, entry.subject_id, entry.details, entry.ip, entry.prev_hash,
  ]);
  return createHash('sha256').update(content).digest('hex');
}

/**
 * The staff audit log: append-only (the database refuses UPDATE and DELETE, migration
 * 2026-12-07T1701) and hash-chained. Entries are appended one at a time under a lock on the chain
 * head, inside the caller's transaction when it gives one, so an action and its entry commit together.
 */
export class StaffAudit {
  readonly #db: Kysely<StaffTables>;
  readonly #clock: () => Date;

  constructor(db: Kysely<any>, clock: () => Date) {
    this.#db = db as Kysely<StaffTables>;
    this.#clock = clock;
  }

  /**
   * Appends one entry. Pass `trx` (a transaction on the platform schema) to commit the entry with
   * the action it records; without it the entry is written in a transaction of its own.
   */
  async record(input: AuditInput, trx?: Kysely<any>): Promise<AuditEntry> {
    assert.ok(/^[a-z_]+(\.[a-z_]+)+$/.test(input.action), `audit action "${input.action}" is dotted lowercase words`);
    const details = JSON.stringify(input.details ?? {});
    assert.ok(details.length <= detailsLengthMax, 'audit details are small facts, not documents');
    assert.ok(input.reason === undefined || input.reason === null || input.reason.length <= reasonLengthMax, 'audit reason too long');
    const append = async (db: Kysely<StaffTables>): Promise<AuditEntry> => {
      const head = await db.selectFrom('staff_audit_head').select(['seq', 'hash']).where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
      const at = this.#clock();
      const unhashed: Omit<AuditEntry, 'hash'> = {
        seq: BigInt(head.seq) + 1n, id: newId('aud', at.getTime()), at, staff_id: input.staffId, action: input.action,
        reason: input.reason ?? null, subject_user_id: input.subjectUserId ?? null, subject_type: input.subjectType ?? null,
        subject_id: input.subjectId ?? null, details, ip: input.ip ?? null, prev_hash: head.hash,
      };
      const entry: AuditEntry = { ...unhashed, hash: auditEntryHash(unhashed) };
      await db.insertInto('staff_audit_log').values(entry).execute();
      await db.updateTable('staff_audit_head').set({ seq: entry.seq, hash: entry.hash }).where('id', '=', 1).execute();
      return entry;
    };
    if (trx) return append(trx as Kysely<StaffTables>);
    return transactionWithRetry(this.#db, append);
  }

  /**
   * Walks the whole chain from the genesis: every entry's hash must be its content's, every
   * `prev_hash` the previous entry's hash, sequence numbers without gaps, and the head must name
   * the last entry. Answers every break found (empty: the log is intact) and the count checked.
   */
  async verify(): Promise<{ entries: number; breaks: AuditBreak[] }> {
    const breaks: AuditBreak[] = [];
    let expectedSeq = 1n;
    let prevHash = genesisHash;
    let entries = 0;
    for (;;) {
      const batch = await this.#db.selectFrom('staff_audit_log').selectAll().where('seq', '>=', expectedSeq)
        .orderBy('seq').limit(verifyBatchSize).execute();
      for (const row of batch) {
        const entry: AuditEntry = { ...row, seq: BigInt(row.seq), at: new Date(row.at) };
        entries += 1;
        if (entry.seq !== expectedSeq) breaks.push({ seq: String(entry.seq), problem: 'sequence_gap' });
        if (entry.prev_hash !== prevHash) breaks.push({ seq: String(entry.seq), problem: 'chain_broken' });
        const { hash, ...unhashed } = entry;
        if (auditEntryHash(unhashed) !== hash) breaks.push({ seq: String(entry.seq), problem: 'hash_mismatch' });
        expectedSeq = entry.seq + 1n;
        prevHash = hash;
      }
      if (batch.length < verifyBatchSize) break;
    }
    const head = await this.#db.selectFrom('staff_audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
    if (!head || BigInt(head.seq) !== expectedSeq - 1n || head.hash !== prevHash) {
      breaks.push({ seq: String(head ? BigInt(head.seq) : expectedSeq - 1n), problem: 'head_mismatch' });
    }
    return { entries, breaks };
  }

  /** Entries matching every filter given, newest first, at most `limit`; `beforeSeq` pages back. */
  async search(filter: {
    staffId?: string; subjectUserId?: string; action?: string; from?: Date; to?: Date; beforeSeq?: bigint; limit: number;
  }): Promise<AuditEntry[]> {
    assert.ok(filter.limit >= 1 && filter.limit <= 200);
    let query = this.#db.selectFrom('staff_audit_log').selectAll();
    if (filter.staffId) query = query.where('staff_id', '=', filter.staffId);
    if (filter.subjectUserId) query = query.where('subject_user_id', '=', filter.subjectUserId);
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.from) query = query.where('at', '>=', filter.from);
    if (filter.to) query = query.where('at', '<', filter.to);
    if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
    const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
    return rows.map((row) => ({ ...row, seq: BigInt(row.seq), at: new Date(row.at) }));
  }
}
