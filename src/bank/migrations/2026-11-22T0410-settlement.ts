import { sql, type Kysely } from 'kysely';

export const settlement = {
  async up(db: Kysely<any>) {
    // The partner's settlement account at the bank (the platform's reserve account, 备付金账户):
    // quick-pay debits move money from a card account into it, withdrawals out of it.
    await db.schema
      .createTable('partner_accounts')
      .addColumn('partner', 'text', (c) => c.primaryKey())
      .addColumn('balance_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addCheckConstraint('partner_accounts_balance_check', sql`balance_fen >= 0`)
      .execute();

    // Each quick-pay movement, unique by the partner's reference: a retried request finds its
    // first outcome here instead of moving money twice.
    await db.schema
      .createTable('agreement_transfers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('reference', 'text', (c) => c.notNull().unique())
      .addColumn('agreement_id', 'text', (c) => c.notNull().references('agreements.id'))
      .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('debit', 'credit')`))
      .addColumn('amount_fen', 'bigint', (c) => c.notNull().check(sql`amount_fen > 0`))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('succeeded', 'declined')`))
      .addColumn('decline_code', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('card_accounts').addColumn('card_ref', 'text').execute();
    await db.updateTable('card_accounts').set({ card_ref: sql`'bcd_' || md5(pan || bank_code)` }).execute();
    await db.schema.alterTable('card_accounts').alterColumn('card_ref', (c) => c.setNotNull()).execute();
    await db.schema.createIndex('card_accounts_card_ref_idx').on('card_accounts').column('card_ref').unique().execute();
  },
};
