// The switch writes two rows' worth per request (the request when it arrives, the answer when
// it leaves). Under load, one statement per write makes the database client the bottleneck, so
// writes queued while a statement is in flight go out together in the next one: one multi-row
// INSERT, one UPDATE … FROM (VALUES …). With no load a write waits for nothing; under load a
// batch grows to what arrived during one round trip.
import { sql, type Insertable, type Kysely } from 'kysely';
import { StatementBatcher } from '../infra/db/statement-batcher.ts';
import type { NetworkTables } from './tables.ts';

type NewRow = Insertable<NetworkTables['transactions']>;

export interface FinishValues {
  status: 'answered' | 'timed_out';
  response_code: string;
  auth_code: string | null;
  response_fields: string;
  issuer_code: string | null;
  pan: string | null;
  token: string | null;
  /** Set when the request timed out: a reversal is due from then on. */
  reversal_next_at: Date | null;
}

export class TransactionLogWriter {
  readonly #inserts: StatementBatcher<NewRow, bigint | undefined>;
  readonly #finishes: StatementBatcher<{ id: bigint; values: FinishValues }, void>;

  constructor(db: Kysely<NetworkTables>, schema = 'network') {
    this.#inserts = new StatementBatcher(async (rows) => {
      const inserted = await db.insertInto('transactions').values(rows)
        .onConflict((oc) => oc.constraint('transactions_terminal_request_key').doNothing())
        .returning(['id', 'terminal_id', 'terminal_stan', 'pos_date', 'pos_mti']).execute();
      const ids = new Map(inserted.map((row) => [`${row.terminal_id}|${row.terminal_stan}|${row.pos_date}|${row.pos_mti}`, row.id]));
      // A key twice in one batch: the first copy got the row, the second is a duplicate.
      return rows.map((row) => {
        const key = `${row.terminal_id}|${row.terminal_stan}|${row.pos_date}|${row.pos_mti}`;
        const id = ids.get(key);
        ids.delete(key);
        return id;
      });
    });
    const table = sql.table(`${schema}.transactions`);
    this.#finishes = new StatementBatcher<{ id: bigint; values: FinishValues }, void>(async (items) => {
      const values = sql.join(items.map(({ id, values: v }) => sql`(${id}::bigint, ${v.status}, ${v.response_code}, ${v.auth_code}, ${v.response_fields},
        ${v.issuer_code}, ${v.pan}, ${v.token}, ${v.reversal_next_at}::timestamptz)`));
      await sql`
        update ${table} t set status = v.status, response_code = v.response_code, auth_code = v.auth_code, response_fields = v.response_fields,
          issuer_code = coalesce(v.issuer_code, t.issuer_code), pan = coalesce(v.pan, t.pan), token = coalesce(v.token, t.token),
          reversal_status = case when v.reversal_next_at is null then t.reversal_status else 'pending' end,
          reversal_next_at = coalesce(v.reversal_next_at, t.reversal_next_at)
        from (values ${values}) as v(id, status, response_code, auth_code, response_fields, issuer_code, pan, token, reversal_next_at)
        where t.id = v.id`.execute(db);
      return items.map(() => undefined);
    });
  }

  /** Logs a request; undefined when the same request (terminal, STAN, date, MTI) is already logged. */
  insert(row: NewRow): Promise<bigint | undefined> {
    return this.#inserts.add(row);
  }

  /** Records the answer (and, for a timeout, that a reversal is due). */
  finish(id: bigint, values: FinishValues): Promise<void> {
    return this.#finishes.add({ id, values });
  }
}
