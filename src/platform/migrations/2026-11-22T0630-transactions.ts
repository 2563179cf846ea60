import { sql, type Kysely } from 'kysely';

export const transactions = {
  async up(db: Kysely<any>) {
    // What users and merchants see of each money movement: every field the privacy policy says
    // a transaction record keeps (channel, interface, type, amount, time, merchant, payer and
    // payee, authorization, trace id). The money itself is in the ledger.
    await db.schema
      .createTable('transactions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('top_up', 'withdrawal', 'transfer', 'payment', 'refund')`))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'succeeded', 'failed')`))
      .addColumn('amount_fen', 'bigint', (c) => c.notNull().check(sql`amount_fen > 0`))
      .addColumn('currency', 'text', (c) => c.notNull().defaultTo('CNY'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('interface_type', 'text', (c) => c.notNull())
      .addColumn('payer_user_id', 'text')
      .addColumn('payer_name', 'text', (c) => c.notNull())
      .addColumn('payer_account', 'text', (c) => c.notNull())
      .addColumn('payee_user_id', 'text')
      .addColumn('payee_name', 'text', (c) => c.notNull())
      .addColumn('payee_account', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text')
      .addColumn('merchant_name', 'text')
      .addColumn('merchant_code', 'text')
      .addColumn('mcc', 'text')
      .addColumn('order_id', 'text')
      .addColumn('refund_of', 'text')
      .addColumn('card_id', 'text')
      .addColumn('authorization_method', 'text', (c) => c.notNull())
      .addColumn('authorization_reference', 'text')
      .addColumn('counts_toward_limits', 'boolean', (c) => c.notNull())
      .addColumn('verification_factors', 'integer', (c) => c.notNull())
      .addColumn('purpose', 'text')
      .addColumn('reason', 'text')
      .addColumn('failure_code', 'text')
      .addColumn('trace_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('completed_at', 'timestamptz')
      .execute();
    await db.schema.createIndex('transactions_payer_idx').on('transactions').columns(['payer_user_id', 'id']).execute();
    await db.schema.createIndex('transactions_payee_idx').on('transactions').columns(['payee_user_id', 'id']).execute();
    await db.schema.createIndex('transactions_pending_idx').on('transactions').column('created_at').where(sql.ref('status'), '=', 'pending').execute();

    // Balance payments counted against the class and daily limits, per payment account and
    // period bucket. Reserved before the money moves, in one transaction with the payment's row.
    await db.schema
      .createTable('limit_usage')
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('bucket', 'text', (c) => c.notNull())
      .addColumn('used_fen', 'bigint', (c) => c.notNull().check(sql`used_fen >= 0`))
      .addPrimaryKeyConstraint('limit_usage_pk', ['account_id', 'bucket'])
      .execute();
  },
};
