import assert from 'node:assert/strict';
import { sql, type Kysely, type Selectable } from 'kysely';
import { isRetryableTransactionError } from '../../infra/db/database.ts';
import type { PlatformTables } from '../tables.ts';
import { validateAccount, type AccountRequest, type CreateAccountResult, type LedgerAccount } from './accounts.ts';
import { BatchWriter, type BatchWriterOptions } from './batch-writer.ts';
import {
  isAppliedTransferResult, validateTransfer, type LedgerTransfer, type TransferRequest, type TransferResult,
} from './transfers.ts';

export interface LedgerOptions extends Partial<BatchWriterOptions> {
  /** Attempts per batch when PostgreSQL says "try again" (serialization failure, deadlock, a racing duplicate id). */
  retryAttemptsMax?: number;
}

export const ledgerDefaults = {
  batchSizeMax: 1_000,
  // Long enough to gather concurrent requests, short next to a commit's fsync.
  batchWindowMs: 1,
  queueLengthMax: 50_000,
  // Two batches at once: one commits (fsync) while the next executes; more mostly adds lock waits.
  inFlightMax: 2,
  retryAttemptsMax: 12,
} as const;

const listLimitMax = 1_000;

/**
 * The double-entry ledger (DESIGN section 3). Transfers go through a batching writer: each batch
 * is one call of `platform.ledger_create_transfers` — one round trip, one commit.
 *
 * Errors: business refusals are result values. A rejected promise means the database could not
 * be reached or a bug; serialization failures and deadlocks are retried here and never surface
 * as a business outcome.
 */
export class Ledger {
  readonly #db: Kysely<PlatformTables>;
  readonly #writer: BatchWriter<TransferRequest, TransferResult>;
  readonly #retryAttemptsMax: number;
  /** Counters since the ledger was created: batches applied, transfers in them, retried attempts. */
  readonly stats = { batches: 0, transfers: 0, retries: 0 };

  constructor(db: Kysely<PlatformTables>, options: LedgerOptions = {}) {
    this.#db = db;
    this.#retryAttemptsMax = options.retryAttemptsMax ?? ledgerDefaults.retryAttemptsMax;
    assert.ok(this.#retryAttemptsMax >= 1 && this.#retryAttemptsMax <= 100);
    this.#writer = new BatchWriter((batch) => this.#applyWithRetry(batch), {
      batchSizeMax: options.batchSizeMax ?? ledgerDefaults.batchSizeMax,
      batchWindowMs: options.batchWindowMs ?? ledgerDefaults.batchWindowMs,
      queueLengthMax: options.queueLengthMax ?? ledgerDefaults.queueLengthMax,
      inFlightMax: options.inFlightMax ?? ledgerDefaults.inFlightMax,
    });
  }

  /** Applies transfers in order; one result per transfer. Refusals do not affect the others. */
  async createTransfers(transfers: readonly TransferRequest[]): Promise<TransferResult[]> {
    const results: (TransferResult | undefined)[] = transfers.map(validateTransfer);
    const valid = transfers.filter((_, i) => results[i] === undefined);
    const applied = valid.length > 0 ? await this.#writer.submit(valid) : [];
    let next = 0;
    return results.map((r) => r ?? applied[next++]!);
  }

  async createTransfer(transfer: TransferRequest): Promise<TransferResult> {
    const [result] = await this.createTransfers([transfer]);
    return result!;
  }

  /** Opens accounts; an id that exists with the same fields answers `exists`. */
  async createAccounts(accounts: readonly AccountRequest[]): Promise<CreateAccountResult[]> {
    const results: CreateAccountResult[] = [];
    for (const account of accounts) {
      const refusal = validateAccount(account);
      if (refusal) {
        results.push(refusal);
        continue;
      }
      const row = {
        id: account.id, kind: account.kind, code: account.code ?? 0, user_data: account.userData ?? null,
        debits_must_not_exceed_credits: account.debitsMustNotExceedCredits ?? false,
        credits_must_not_exceed_debits: account.creditsMustNotExceedDebits ?? false,
      };
      const inserted = await this.#db.insertInto('ledger_accounts').values(row)
        .onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst();
      if (inserted) {
        results.push('ok');
        continue;
      }
      const existing = await this.#db.selectFrom('ledger_accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
      const same = existing.kind === row.kind && existing.code === row.code && existing.user_data === row.user_data
        && existing.debits_must_not_exceed_credits === row.debits_must_not_exceed_credits
        && existing.credits_must_not_exceed_debits === row.credits_must_not_exceed_debits;
      results.push(same ? 'exists' : 'exists_with_different_fields');
    }
    return results;
  }

  async lookupAccounts(ids: readonly string[]): Promise<LedgerAccount[]> {
    assert.ok(ids.length <= listLimitMax, `look up at most ${listLimitMax} accounts at once`);
    if (ids.length === 0) return [];
    const rows = await this.#db.selectFrom('ledger_accounts').selectAll().where('id', 'in', [...ids]).execute();
    const byId = new Map(rows.map((r) => [r.id, toAccount(r)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async lookupAccount(id: string): Promise<LedgerAccount | undefined> {
    return (await this.lookupAccounts([id]))[0];
  }

  async lookupTransfers(ids: readonly string[]): Promise<LedgerTransfer[]> {
    assert.ok(ids.length <= listLimitMax, `look up at most ${listLimitMax} transfers at once`);
    if (ids.length === 0) return [];
    const rows = await this.#db.selectFrom('ledger_transfers').selectAll().where('id', 'in', [...ids]).execute();
    const byId = new Map(rows.map((r) => [r.id, toTransfer(r)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** An account's transfers, newest first; pass the last `seq` seen as `beforeSeq` for the next page. */
  async listAccountTransfers(accountId: string, page: { limit: number; beforeSeq?: bigint }): Promise<LedgerTransfer[]> {
    assert.ok(Number.isInteger(page.limit) && page.limit >= 1 && page.limit <= listLimitMax);
    const side = (column: 'debit_account_id' | 'credit_account_id') => {
      let q = this.#db.selectFrom('ledger_transfers').selectAll().where(column, '=', accountId);
      if (page.beforeSeq !== undefined) q = q.where('seq', '<', page.beforeSeq);
      return q.orderBy('seq', 'desc').limit(page.limit);
    };
    const rows = [...(await side('debit_account_id').execute()), ...(await side('credit_account_id').execute())];
    return rows.sort((a, b) => (a.seq > b.seq ? -1 : 1)).slice(0, page.limit).map(toTransfer);
  }

  /**
   * Voids holds whose timeout has passed, freeing the money they held. The void's id is derived
   * from the hold's, so two sweepers racing on one hold void it once. Returns how many it voided.
   */
  async voidExpiredPendingTransfers(limit = 1_000): Promise<number> {
    assert.ok(Number.isInteger(limit) && limit >= 1 && limit <= listLimitMax);
    const expired = await this.#db.selectFrom('ledger_transfers as p').select('p.id')
      .where('p.kind', '=', 'pending').where('p.expires_at', '<=', sql<Date>`now()`)
      .where(({ not, exists, selectFrom }) => not(exists(
        selectFrom('ledger_transfers as r').select('r.id').whereRef('r.pending_id', '=', 'p.id'))))
      .orderBy('p.expires_at').limit(limit).execute();
    const results = await this.createTransfers(expired.map(({ id }) => ({ id: `${id}:expired`, kind: 'void_pending', pendingId: id })));
    return results.filter((r) => r === 'ok').length;
  }

  /** Waits for queued transfers to be applied; the ledger takes no more after this. */
  async close(): Promise<void> {
    await this.#writer.close();
  }

  async #applyWithRetry(batch: TransferRequest[]): Promise<TransferResult[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await this.#apply(batch);
        this.stats.batches++;
        this.stats.transfers += batch.length;
        return results;
      } catch (error) {
        if (!isRetryableLedgerError(error) || attempt >= this.#retryAttemptsMax) throw error;
        this.stats.retries++;
        const backoffMs = Math.min(50, 2 ** attempt) * (0.5 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  }

  async #apply(batch: TransferRequest[]): Promise<TransferResult[]> {
    const column = <T>(pick: (t: TransferRequest) => T) => batch.map(pick);
    const { rows } = await sql<{ results: string[] }>`select platform.ledger_create_transfers(
      ${column((t) => t.id)}::text[], ${column((t) => t.debitAccountId ?? null)}::text[],
      ${column((t) => t.creditAccountId ?? null)}::text[], ${column((t) => t.amountFen?.toString() ?? null)}::text[]::bigint[],
      ${column((t) => t.kind ?? 'posted')}::text[], ${column((t) => t.pendingId ?? null)}::text[],
      ${column((t) => t.timeoutSeconds ?? 0)}::integer[], ${column((t) => t.code ?? 0)}::integer[],
      ${column((t) => t.userData ?? null)}::text[]) as results`.execute(this.#db);
    const results = rows[0]?.results;
    assert.ok(Array.isArray(results) && results.length === batch.length, 'the ledger function answers once per transfer');
    for (const r of results) assert.ok(isAppliedTransferResult(r), `unknown ledger result ${r}`);
    return results as TransferResult[];
  }
}

/**
 * Serialization failures and deadlocks, and a unique violation on a transfer id or hold: the
 * last means a concurrent batch on other accounts stored the same id first; run again, the
 * batch sees it and answers `exists` or `exists_with_different_fields`.
 */
export function isRetryableLedgerError(error: unknown): boolean {
  if (isRetryableTransactionError(error)) return true;
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && (e.constraint === 'ledger_transfers_pkey' || e.constraint === 'ledger_transfers_pending_id_unique');
}

function toAccount(r: Selectable<PlatformTables['ledger_accounts']>): LedgerAccount {
  return {
    id: r.id, kind: r.kind, debitsMustNotExceedCredits: r.debits_must_not_exceed_credits,
    creditsMustNotExceedDebits: r.credits_must_not_exceed_debits, code: r.code, userData: r.user_data,
    debitsPendingFen: r.debits_pending, debitsPostedFen: r.debits_posted,
    creditsPendingFen: r.credits_pending, creditsPostedFen: r.credits_posted, createdAt: r.created_at,
  };
}

function toTransfer(r: Selectable<PlatformTables['ledger_transfers']>): LedgerTransfer {
  return {
    id: r.id, seq: r.seq, debitAccountId: r.debit_account_id, creditAccountId: r.credit_account_id, amountFen: r.amount,
    kind: r.kind, pendingId: r.pending_id, timeoutSeconds: r.timeout_seconds, expiresAt: r.expires_at, code: r.code,
    userData: r.user_data, createdAt: r.created_at,
  };
}
