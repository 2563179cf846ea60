// The statements of the issuer's optimistic path, batched: concurrent requests read their
// cards in one SELECT and write their outcomes in one guarded statement. The guard re-reads
// each card under a row lock and writes only where every value the decision was made from is
// still what it was (so a decision made from a stale copy of a card writes nothing and its
// request is decided again), and the card's new state is written only together with a new
// answer row (a duplicate of an answered request changes nothing). One card appears at most
// once per statement.
//
// Rows travel as one array per column (`unnest`), so each statement's text is the same
// whatever the batch size: no per-row SQL to build on the client, a short one to parse on the
// server.
import { sql, type Kysely } from 'kysely';
import { StatementBatcher } from '../../infra/db/statement-batcher.ts';
import type { CardSnapshot, Decision } from './decision.ts';
import type { AuthorizationTables } from './tables.ts';

export interface SnapshotRow {
  pan: string; status: CardSnapshot['status']; expiry_yymm: string; pan_sequence: string; balance_fen: bigint; credit_limit_fen: bigint;
  last_atc: number | null; pin_verification_value: string | null; pin_wrong_tries: number | null; held_fen: bigint | null; duplicate_id: unknown;
}

type MessageRow = Omit<AuthorizationTables['authorization_messages'], 'id'>;

export interface GuardedWrite {
  card: CardSnapshot;
  decision: Decision;
  row: MessageRow;
}

export class FastPathStatements {
  readonly #snapshots: StatementBatcher<{ pan: string; key: string }, SnapshotRow | undefined>;
  readonly #writes: StatementBatcher<GuardedWrite, { guarded: boolean; inserted: boolean }>;

  constructor(db: Kysely<AuthorizationTables>, schema: string) {
    const cards = sql.table(`${schema}.card_accounts`);
    const states = sql.table(`${schema}.card_authorization_state`);
    const messages = sql.table(`${schema}.authorization_messages`);

    // The lookups name their keys (= any, a subquery per message key) so that they go through
    // the indexes: joined to the whole batch, the planner would scan a small table (and the
    // message table grows with every request), trusting statistics that lag behind it.
    this.#snapshots = new StatementBatcher<{ pan: string; key: string }, SnapshotRow | undefined>(async (items) => {
      const pans = items.map((item) => item.pan);
      const { rows } = await sql<SnapshotRow & { idx: number }>`
        select r.idx, c.pan, c.status, c.expiry_yymm, c.pan_sequence, c.balance_fen, c.credit_limit_fen,
               s.last_atc, s.pin_verification_value, s.pin_wrong_tries, s.held_fen,
               (select m.id from ${messages} m where m.message_key = r.key) as duplicate_id
        from unnest(${items.map((_, i) => i)}::int[], ${items.map((item) => item.key)}::text[], ${pans}::text[]) as r(idx, key, pan)
        join ${cards} c on c.pan = r.pan
        left join ${states} s on s.pan = c.pan
        where c.pan = any(${pans}::text[])`.execute(db);
      const byIndex = new Map(rows.map((row) => [row.idx, row]));
      return items.map((_, i) => byIndex.get(i));
    });

    this.#writes = new StatementBatcher<GuardedWrite, { guarded: boolean; inserted: boolean }>(async (items) => {
      const card = <K extends keyof CardSnapshot>(name: K) => items.map((item) => item.card[name]);
      const decided = <K extends keyof Decision>(name: K) => items.map((item) => item.decision[name]);
      const message = <K extends keyof MessageRow>(name: K) => items.map((item) => item.row[name]);
      const { rows } = await sql<{ guarded: string[] | null; inserted: string[] | null }>`
        with v as (
          select * from unnest(${card('pan')}::text[], ${card('status')}::text[], ${card('expiryYymm')}::text[], ${card('panSequence')}::text[],
            ${card('balanceFen')}::bigint[], ${card('creditLimitFen')}::bigint[], ${card('lastAtc')}::int[], ${card('pinVerificationValue')}::text[],
            ${card('pinWrongTries')}::int[], ${card('heldFen')}::bigint[],
            ${decided('lastAtc')}::int[], ${decided('pinWrongTries')}::int[], ${decided('heldFen')}::bigint[], ${decided('balanceFen')}::bigint[],
            ${message('message_key')}::text[], ${message('kind')}::text[], ${message('amount_fen')}::bigint[], ${message('rrn')}::text[],
            ${message('terminal_id')}::text[], ${message('response_code')}::text[], ${message('decline_reason')}::text[], ${message('auth_code')}::text[],
            ${message('response_icc_hex')}::text[], ${message('held_fen')}::bigint[], ${message('balance_delta_fen')}::bigint[],
            ${message('original_rrn')}::text[], ${message('created_at')}::timestamptz[])
          as v(pan, status0, expiry0, sequence0, balance0, limit0, atc0, pvv0, tries0, held0, atc1, tries1, held1, balance1,
               message_key, kind, amount_fen, rrn, terminal_id, response_code, decline_reason, auth_code, response_icc_hex,
               msg_held_fen, msg_balance_delta_fen, original_rrn, created_at)
        ), guard as (
          select c.pan from ${cards} c join ${states} s on s.pan = c.pan join v on v.pan = c.pan
          where c.pan = any(${card('pan')}::text[]) and s.pan = any(${card('pan')}::text[]) and c.status = v.status0 and c.expiry_yymm = v.expiry0 and c.pan_sequence = v.sequence0 and c.balance_fen = v.balance0
            and c.credit_limit_fen = v.limit0 and s.last_atc = v.atc0 and s.pin_verification_value is not distinct from v.pvv0
            and s.pin_wrong_tries = v.tries0 and s.held_fen = v.held0
          for update of c, s
        ), message_write as (
          insert into ${messages} (message_key, kind, pan, amount_fen, rrn, terminal_id, response_code, decline_reason, auth_code,
            response_icc_hex, held_fen, balance_delta_fen, refunded_fen, original_rrn, reversed_at, created_at)
          select v.message_key, v.kind, v.pan, v.amount_fen, v.rrn, v.terminal_id, v.response_code, v.decline_reason, v.auth_code,
            v.response_icc_hex, v.msg_held_fen, v.msg_balance_delta_fen, 0, v.original_rrn, null, v.created_at
          from v where v.pan in (select pan from guard)
          on conflict (message_key) do nothing returning message_key
        ), state_write as (
          update ${states} s set last_atc = v.atc1, pin_wrong_tries = v.tries1, held_fen = v.held1
          from v where s.pan = v.pan and v.message_key in (select message_key from message_write)
        ), balance_write as (
          update ${cards} c set balance_fen = v.balance1
          from v where c.pan = v.pan and v.balance1 <> v.balance0 and v.message_key in (select message_key from message_write)
        )
        select (select array_agg(pan) from guard) as guarded, (select array_agg(message_key) from message_write) as inserted`.execute(db);
      const guarded = new Set(rows[0]?.guarded ?? []);
      const inserted = new Set(rows[0]?.inserted ?? []);
      return items.map((item) => ({ guarded: guarded.has(item.card.pan), inserted: inserted.has(item.row.message_key) }));
    }, { exclusiveKey: (item) => item.card.pan });
  }

  snapshot(pan: string, key: string): Promise<SnapshotRow | undefined> {
    return this.#snapshots.add({ pan, key });
  }

  write(write: GuardedWrite): Promise<{ guarded: boolean; inserted: boolean }> {
    return this.#writes.add(write);
  }
}
