import { sql, type Kysely } from 'kysely';

export const deviceCardTransactions = {
  async up(db: Kysely<any>) {
    // What the TSP tells the wallet of each device-card tap, refund, reversal, pre-authorization
    // and completion (transactions/device-card-notices.ts). The money moved at the bank; this is
    // the user's record of it. A retried notice is stored once: (rrn, terminal, kind) is unique.
    await db.schema
      .createTable('device_card_transactions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('device_card_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('purchase', 'refund', 'reversal', 'preauth', 'completion')`))
      .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('approved', 'declined')`))
      .addColumn('response_code', 'text', (c) => c.notNull())
      .addColumn('decline_reason', 'text')
      .addColumn('amount_fen', 'bigint', (c) => c.notNull().check(sql`amount_fen >= 0`))
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('merchant_name', 'text', (c) => c.notNull())
      .addColumn('mcc', 'text', (c) => c.notNull())
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('stan', 'text', (c) => c.notNull())
      .addColumn('rrn', 'text', (c) => c.notNull())
      .addColumn('original_rrn', 'text')
      .addColumn('refund_of', 'text')
      .addColumn('token_last4', 'text', (c) => c.notNull())
      .addColumn('bank_name', 'text', (c) => c.notNull())
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .addColumn('received_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('device_card_transactions_notice_key', ['rrn', 'terminal_id', 'kind'])
      .execute();
    await db.schema.createIndex('device_card_transactions_user_idx').on('device_card_transactions').columns(['user_id', 'id']).execute();
    await db.schema.createIndex('device_card_transactions_device_idx').on('device_card_transactions').columns(['device_id', 'id']).execute();
  },
};
