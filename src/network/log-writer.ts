// The switch writes two rows' worth per request (the request when it arrives, the answer when
// it leaves). Under load, one statement per write makes the database client the bottleneck, so
// writes queued while a statement is in flight go out together in the next one: one multi-row
// INSERT, one UPDATE … FROM (VALUES …). With no load a write waits for nothing; under load a
// batch grows to what arrived during one round trip. Requests and answers have a queue each and
// run side by side on two connections; one queue (and one call) for both halved the round trips
// but made each request wait behind the other kind's batch twice, and measured slower.
import { sql, type Kysely } from 'kysely';
import { StatementBatcher } from '../infra/db/statement-batcher.ts';
import type { NetworkTables } from './tables.ts';

type Row = NetworkTables['transactions'];

/** A request as it arrives: logged as pending, with no issuer, answer or reversal yet. */
export type LoggedRequest = Pick<Row, 'terminal_id' | 'terminal_stan' | 'pos_date' | 'pos_time' | 'pos_mti' | 'kind' | 'processing_code'
  | 'merchant_id' | 'pan_first6' | 'pan_last4' | 'pan_hash' | 'pan_sealed' | 'token_last4' | 'token_hash' | 'token_sealed' | 'amount_fen' | 'transmission' | 'business_date' | 'original_rrn' | 'created_at'>;

export interface FinishValues {
  status: 'answered' | 'timed_out';
  response_code: string;
  auth_code: string | null;
  response_fields: string;
  issuer_code: string | null;
  /** The routed card (for a device card, the card behind the token), or null to keep what the request logged. */
  card: Pick<Row, 'pan_first6' | 'pan_last4' | 'pan_hash' | 'pan_sealed' | 'token_last4' | 'token_hash' | 'token_sealed'> | null;
  /** Set when the request timed out: a reversal is due from then on. */
  reversal_next_at: Date | null;
}

/** Rows per statement: bounds a statement's parameters and the time it holds its rows. */
const rowsPerStatementMax = 200;

const requestKey = (row: { terminal_id: string; terminal_stan: string; pos_date: string; pos_mti: string }) =>
  `${row.terminal_id}|${row.terminal_stan}|${row.pos_date}|${row.pos_mti}`;

export class TransactionLogWriter {
  readonly #inserts: StatementBatcher<LoggedRequest, bigint | undefined>;
  readonly #finishes: StatementBatcher<{ id: bigint; values: FinishValues }, void>;

  constructor(db: Kysely<NetworkTables>, schema = 'network') {
    // A failed statement wrote nothing; its rows are then written one by one, so that one bad
    // row fails only its own request (an insert runs again harmlessly: a logged request is skipped).
    this.#inserts = new StatementBatcher<LoggedRequest, bigint | undefined>(async (requests) => {
      const inserted = await db.insertInto('transactions')
        .values(requests.map((request) => ({
          ...request, issuer_code: null, status: 'pending' as const, response_code: null, auth_code: null, response_fields: null,
          reversal_status: 'none' as const, reversal_transmission: null, reversal_attempts: 0, reversal_next_at: null,
        })))
        .onConflict((oc) => oc.constraint('transactions_terminal_request_key').doNothing())
        .returning(['id', 'terminal_id', 'terminal_stan', 'pos_date', 'pos_mti']).execute();
      const ids = new Map(inserted.map((row) => [requestKey(row), row.id]));
      // A key twice in one batch: the first copy got the row, the second is a duplicate.
      return requests.map((request) => {
        const key = requestKey(request);
        const id = ids.get(key);
        ids.delete(key);
        return id;
      });
    }, { batchSizeMax: rowsPerStatementMax, isolateFailures: true });
    const table = sql.table(`${schema}.transactions`);
    this.#finishes = new StatementBatcher<{ id: bigint; values: FinishValues }, void>(async (items) => {
      const values = sql.join(items.map(({ id, values: v }) => sql`(${id}::bigint, ${v.status}, ${v.response_code}, ${v.auth_code}, ${v.response_fields},
        ${v.issuer_code}, ${v.card?.pan_first6 ?? null}, ${v.card?.pan_last4 ?? null}, ${v.card?.pan_hash ?? null},
        ${v.card?.pan_sealed ?? null}, ${v.card?.token_last4 ?? null}, ${v.card?.token_hash ?? null},
        ${v.card?.token_sealed ?? null}, ${v.reversal_next_at}::timestamptz)`));
      await sql`
        update ${table} t set status = v.status, response_code = v.response_code, auth_code = v.auth_code, response_fields = v.response_fields,
          issuer_code = coalesce(v.issuer_code, t.issuer_code), pan_first6 = coalesce(v.pan_first6, t.pan_first6),
          pan_last4 = coalesce(v.pan_last4, t.pan_last4), pan_hash = coalesce(v.pan_hash, t.pan_hash),
          -- A declined request is never reversed nor completed: its sealed card number goes.
          pan_sealed = case when v.status = 'answered' and v.response_code <> '00' then null else coalesce(v.pan_sealed, t.pan_sealed) end,
          token_last4 = coalesce(v.token_last4, t.token_last4), token_hash = coalesce(v.token_hash, t.token_hash),
          token_sealed = case when v.status = 'answered' and v.response_code <> '00' then null else coalesce(v.token_sealed, t.token_sealed) end,
          reversal_status = case when v.reversal_next_at is null then t.reversal_status else 'pending' end,
          reversal_next_at = coalesce(v.reversal_next_at, t.reversal_next_at)
        from (values ${values}) as v(id, status, response_code, auth_code, response_fields, issuer_code, pan_first6, pan_last4, pan_hash,
          pan_sealed, token_last4, token_hash, token_sealed, reversal_next_at)
        where t.id = v.id`.execute(db);
      return items.map(() => undefined);
    }, { batchSizeMax: rowsPerStatementMax, isolateFailures: true });
  }

  /** Logs a request; undefined when the same request (terminal, STAN, date, MTI) is already logged. */
  insert(request: LoggedRequest): Promise<bigint | undefined> {
    return this.#inserts.add(request);
  }

  /** Records the answer (and, for a timeout, that a reversal is due). */
  finish(id: bigint, values: FinishValues): Promise<void> {
    return this.#finishes.add({ id, values });
  }
}
