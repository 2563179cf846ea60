import { sql, type Kysely } from 'kysely';

export const networkSwitch = {
  async up(db: Kysely<any>) {
    // Terminals the acquirer has deployed, with the PIN key injected into each one's PIN pad.
    await db.schema
      .createTable('terminals')
      .addColumn('terminal_id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('merchant_name', 'text', (c) => c.notNull())
      .addColumn('mcc', 'text', (c) => c.notNull())
      .addColumn('tpk_hex', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    // The transaction log: one row per terminal request. The network's STAN and RRN derive
    // from `id`; the unique key is what detects a terminal's duplicate transmissions.
    await db.schema
      .createTable('transactions')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('terminal_stan', 'text', (c) => c.notNull())
      .addColumn('pos_date', 'text', (c) => c.notNull())
      .addColumn('pos_time', 'text', (c) => c.notNull())
      .addColumn('pos_mti', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('authorization', 'purchase', 'refund')`))
      .addColumn('processing_code', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('pan', 'text', (c) => c.notNull())
      .addColumn('token', 'text')
      .addColumn('amount_fen', 'bigint', (c) => c.notNull())
      .addColumn('issuer_code', 'text')
      .addColumn('transmission', 'text', (c) => c.notNull())
      .addColumn('business_date', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'answered', 'timed_out')`))
      .addColumn('response_code', 'text')
      .addColumn('auth_code', 'text')
      .addColumn('response_fields', 'text')
      .addColumn('original_rrn', 'text')
      .addColumn('reversal_status', 'text', (c) => c.notNull().defaultTo('none').check(sql`reversal_status in ('none', 'pending', 'done', 'failed')`))
      .addColumn('reversal_transmission', 'text')
      .addColumn('reversal_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reversal_next_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('transactions_terminal_request_key', ['terminal_id', 'terminal_stan', 'pos_date', 'pos_mti'])
      .execute();
    await db.schema.createIndex('transactions_business_date_idx').on('transactions').column('business_date').execute();
    await db.schema.createIndex('transactions_reversal_idx').on('transactions').columns(['reversal_status', 'reversal_next_at']).execute();
  },
};
