import { sql, type Kysely } from 'kysely';

export const boundCards = {
  async up(db: Kysely<any>) {
    // A card bound for quick pay (快捷支付). The platform keeps the bank's agreement id and its
    // stable card reference — never the card number.
    await db.schema
      .createTable('bound_cards')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('payment_accounts.id'))
      .addColumn('bank_code', 'text', (c) => c.notNull())
      .addColumn('bank_name', 'text', (c) => c.notNull())
      .addColumn('card_kind', 'text', (c) => c.notNull().check(sql`card_kind in ('debit', 'credit')`))
      .addColumn('brand', 'text', (c) => c.notNull())
      .addColumn('last4', 'text', (c) => c.notNull())
      .addColumn('masked_number', 'text', (c) => c.notNull())
      .addColumn('card_ref', 'text', (c) => c.notNull())
      .addColumn('agreement_id', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'unbound')`))
      .addColumn('bound_at', 'timestamptz', (c) => c.notNull())
      .addColumn('unbound_at', 'timestamptz')
      .execute();
    // One live binding per physical card per user.
    await db.schema.createIndex('bound_cards_live_idx').on('bound_cards').columns(['user_id', 'bank_code', 'card_ref']).unique()
      .where(sql.ref('status'), '=', 'active').execute();
    await db.schema.createIndex('bound_cards_user_idx').on('bound_cards').columns(['user_id', 'bound_at']).execute();
  },
};
