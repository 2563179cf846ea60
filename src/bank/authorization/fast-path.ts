// The statements of the issuer's optimistic path, batched: concurrent requests read their
// cards in one SELECT and write their outcomes in one guarded statement. The guard re-reads
// each card under a row lock and writes only where the card is exactly as it was read; a card
// that changed meanwhile writes nothing and its request is decided again. One card appears at
// most once per statement.
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

    this.#snapshots = new StatementBatcher<{ pan: string; key: string }, SnapshotRow | undefined>(async (items) => {
      const requested = sql.join(items.map((item, i) => sql`(${i}::int, ${item.key}::text, ${item.pan}::text)`));
      const { rows } = await sql<SnapshotRow & { idx: number }>`
        select r.idx, c.pan, c.status, c.expiry_yymm, c.pan_sequence, c.balance_fen, c.credit_limit_fen,
               s.last_atc, s.pin_verification_value, s.pin_wrong_tries, s.held_fen, m.id as duplicate_id
        from (values ${requested}) as r(idx, key, pan)
        join ${cards} c on c.pan = r.pan
        left join ${states} s on s.pan = c.pan
        left join ${messages} m on m.message_key = r.key`.execute(db);
      const byIndex = new Map(rows.map((row) => [row.idx, row]));
      return items.map((_, i) => byIndex.get(i));
    });

    this.#writes = new StatementBatcher(async (items) => {
      const values = sql.join(items.map(({ card, decision, row }, i) => sql`(${i}::int, ${card.pan}::text, ${card.status}::text,
        ${card.balanceFen}::bigint, ${card.lastAtc}::int, ${card.pinWrongTries}::int, ${card.heldFen}::bigint,
        ${decision.lastAtc}::int, ${decision.pinWrongTries}::int, ${decision.heldFen}::bigint, ${decision.balanceFen}::bigint,
        ${row.message_key}::text, ${row.kind}::text, ${row.amount_fen}::bigint, ${row.rrn}::text, ${row.terminal_id}::text, ${row.response_code}::text,
        ${row.decline_reason}::text, ${row.auth_code}::text, ${row.response_icc_hex}::text, ${row.held_fen}::bigint, ${row.balance_delta_fen}::bigint,
        ${row.original_rrn}::text, ${row.created_at}::timestamptz)`));
      const { rows } = await sql<{ idx: number; guarded: boolean; inserted: boolean }>`
        with v(idx, pan, status0, balance0, atc0, tries0, held0, atc1, tries1, held1, balance1, message_key, kind, amount_fen, rrn, terminal_id,
               response_code, decline_reason, auth_code, response_icc_hex, msg_held_fen, msg_balance_delta_fen, original_rrn, created_at) as (
          values ${values}
        ), guard as (
          select c.pan from ${cards} c join ${states} s on s.pan = c.pan join v on v.pan = c.pan
          where c.status = v.status0 and c.balance_fen = v.balance0 and s.last_atc = v.atc0 and s.pin_wrong_tries = v.tries0 and s.held_fen = v.held0
          for update of c, s
        ), state_write as (
          update ${states} s set last_atc = v.atc1, pin_wrong_tries = v.tries1, held_fen = v.held1
          from v where s.pan = v.pan and v.pan in (select pan from guard) returning s.pan
        ), balance_write as (
          update ${cards} c set balance_fen = v.balance1
          from v where c.pan = v.pan and v.balance1 <> v.balance0 and v.pan in (select pan from guard) returning c.pan
        ), message_write as (
          insert into ${messages} (message_key, kind, pan, amount_fen, rrn, terminal_id, response_code, decline_reason, auth_code,
            response_icc_hex, held_fen, balance_delta_fen, refunded_fen, original_rrn, reversed_at, created_at)
          select v.message_key, v.kind, v.pan, v.amount_fen, v.rrn, v.terminal_id, v.response_code, v.decline_reason, v.auth_code,
            v.response_icc_hex, v.msg_held_fen, v.msg_balance_delta_fen, 0, v.original_rrn, null, v.created_at
          from v where v.pan in (select pan from guard)
          on conflict (message_key) do nothing returning message_key
        )
        select v.idx,
               exists (select 1 from guard g where g.pan = v.pan) as guarded,
               exists (select 1 from message_write w where w.message_key = v.message_key) as inserted,
               (select count(*) from state_write) + (select count(*) from balance_write) as written
        from v`.execute(db);
      const byIndex = new Map(rows.map((row) => [row.idx, row]));
      return items.map((_, i) => ({ guarded: byIndex.get(i)?.guarded === true, inserted: byIndex.get(i)?.inserted === true }));
    }, { exclusiveKey: (item) => item.card.pan });
  }

  snapshot(pan: string, key: string): Promise<SnapshotRow | undefined> {
    return this.#snapshots.add({ pan, key });
  }

  write(write: GuardedWrite): Promise<{ guarded: boolean; inserted: boolean }> {
    return this.#writes.add(write);
  }
}
