import { sql, type Kysely } from 'kysely';

export const cardAccounts = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('card_accounts')
      .addColumn('pan', 'text', (c) => c.primaryKey())
      .addColumn('bank_code', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('debit', 'credit')`))
      .addColumn('brand', 'text', (c) => c.notNull().check(sql`brand in ('unionpay', 'visa')`))
      .addColumn('holder_name', 'text', (c) => c.notNull())
      .addColumn('id_number', 'text', (c) => c.notNull())
      .addColumn('reserved_phone', 'text', (c) => c.notNull())
      .addColumn('balance_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('credit_limit_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'lost', 'frozen', 'closed')`))
      .addColumn('expiry_yymm', 'text', (c) => c.notNull())
      .addColumn('pan_sequence', 'text', (c) => c.notNull().defaultTo('01'))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addCheckConstraint('card_accounts_money_check', sql`balance_fen >= -credit_limit_fen and credit_limit_fen >= 0`)
      .execute();
    await db.schema.createIndex('card_accounts_holder_idx').on('card_accounts').column('id_number').execute();

    await db.schema
      .createTable('verifications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pan', 'text', (c) => c.notNull().references('card_accounts.pan'))
      .addColumn('requester', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('wrong_tries', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('consumed_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('verifications_pan_idx').on('verifications').columns(['pan', 'created_at']).execute();

    // A quick-pay agreement (快捷支付协议): what a verified card is known by to the platform,
    // so that the platform never has to keep the card number itself.
    await db.schema
      .createTable('agreements')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pan', 'text', (c) => c.notNull().references('card_accounts.pan'))
      .addColumn('requester', 'text', (c) => c.notNull())
      .addColumn('verification_id', 'text', (c) => c.notNull().unique().references('verifications.id'))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .execute();
  },
};
