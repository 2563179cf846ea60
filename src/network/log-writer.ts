// The switch writes two rows' worth per request (the request when it arrives, the answer when
// it leaves). Under load, one statement per write makes the database the bottleneck, so both
// kinds of write share one queue: what queued while a call was in flight goes out in the next
// one — new requests as one multi-row INSERT, answers as one UPDATE, both in one call of
// `network.log_writes` (migrations/2026-11-22T0800-log-writes.ts): one round trip and one
// commit for the lot, and no planning on the server, which keeps the function's plans. With no
// load a write waits for nothing; under load a call grows to what arrived during one round trip.
import { sql, type Kysely } from 'kysely';
import { StatementBatcher } from '../infra/db/statement-batcher.ts';
import type { NetworkTables } from './tables.ts';

type Row = NetworkTables['transactions'];

/** A request as it arrives: logged as pending, with no issuer, answer or reversal yet. */
export type LoggedRequest = Pick<Row, 'terminal_id' | 'terminal_stan' | 'pos_date' | 'pos_time' | 'pos_mti' | 'kind' | 'processing_code'
  | 'merchant_id' | 'pan' | 'token' | 'amount_fen' | 'transmission' | 'business_date' | 'original_rrn' | 'created_at'>;

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

type LogWrite =
  | { kind: 'insert'; request: LoggedRequest }
  | { kind: 'finish'; id: bigint; values: FinishValues };

/** Requests and answers per call: bounds the call's arrays and the time it holds its rows. */
const writesPerCallMax = 500;

const requestKey = (row: { terminal_id: string; terminal_stan: string; pos_date: string; pos_mti: string }) =>
  `${row.terminal_id}|${row.terminal_stan}|${row.pos_date}|${row.pos_mti}`;

export class TransactionLogWriter {
  readonly #writes: StatementBatcher<LogWrite, bigint | undefined>;

  constructor(db: Kysely<NetworkTables>) {
    // A failed call wrote nothing; each write is then tried alone, so that one bad row fails
    // only its own request (an insert runs again harmlessly: a logged request is skipped).
    this.#writes = new StatementBatcher<LogWrite, bigint | undefined>(async (writes) => {
      const requests = writes.flatMap((w) => (w.kind === 'insert' ? [w.request] : []));
      const answers = writes.flatMap((w) => (w.kind === 'finish' ? [w] : []));
      const r = <K extends keyof LoggedRequest>(name: K) => requests.map((request) => request[name]);
      const a = <K extends keyof FinishValues>(name: K) => answers.map((answer) => answer.values[name]);
      const { rows } = await sql<{ o_id: bigint; o_terminal_id: string; o_stan: string; o_pos_date: string; o_mti: string }>`
        select * from network.log_writes(
          ${r('terminal_id')}::text[], ${r('terminal_stan')}::text[], ${r('pos_date')}::text[], ${r('pos_time')}::text[], ${r('pos_mti')}::text[],
          ${r('kind')}::text[], ${r('processing_code')}::text[], ${r('merchant_id')}::text[], ${r('pan')}::text[], ${r('token')}::text[],
          ${r('amount_fen')}::bigint[], ${r('transmission')}::text[], ${r('business_date')}::text[], ${r('original_rrn')}::text[],
          ${r('created_at')}::timestamptz[],
          ${answers.map((answer) => answer.id)}::bigint[], ${a('status')}::text[], ${a('response_code')}::text[], ${a('auth_code')}::text[],
          ${a('response_fields')}::text[], ${a('issuer_code')}::text[], ${a('pan')}::text[], ${a('token')}::text[],
          ${a('reversal_next_at')}::timestamptz[])`.execute(db);
      const ids = new Map(rows.map((row) => [requestKey({ terminal_id: row.o_terminal_id, terminal_stan: row.o_stan, pos_date: row.o_pos_date, pos_mti: row.o_mti }), row.o_id]));
      // A key twice in one call: the first copy got the row, the second is a duplicate.
      return writes.map((write) => {
        if (write.kind === 'finish') return undefined;
        const key = requestKey(write.request);
        const id = ids.get(key);
        ids.delete(key);
        return id;
      });
    }, { batchSizeMax: writesPerCallMax, isolateFailures: true });
  }

  /** Logs a request; undefined when the same request (terminal, STAN, date, MTI) is already logged. */
  insert(request: LoggedRequest): Promise<bigint | undefined> {
    return this.#writes.add({ kind: 'insert', request });
  }

  /** Records the answer (and, for a timeout, that a reversal is due). */
  async finish(id: bigint, values: FinishValues): Promise<void> {
    await this.#writes.add({ kind: 'finish', id, values });
  }
}
