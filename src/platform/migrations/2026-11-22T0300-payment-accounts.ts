import { sql, type Kysely } from 'kysely';

export const paymentAccounts = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('payment_accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().unique().references('users.id'))
      .addColumn('holder_name', 'text', (c) => c.notNull())
      // Identity records are kept 10 years after the relationship ends (AML law, Art. 34).
      .addColumn('id_number', 'text', (c) => c.notNull().unique())
      .addColumn('birth_date', 'date', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status in ('active', 'frozen', 'closed')`))
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('password_failed_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('password_locked_until', 'timestamptz')
      .addColumn('opened_at', 'timestamptz', (c) => c.notNull())
      // AML supplementary data (PBOC 2015 No. 43): required before Class II/III limits apply.
      .addColumn('aml_gender', 'text')
      .addColumn('aml_occupation', 'text')
      .addColumn('aml_nationality', 'text')
      .addColumn('aml_id_type', 'text')
      .addColumn('aml_id_expiry', 'text')
      .addColumn('aml_id_photo', 'bytea')
      .addColumn('aml_id_photo_type', 'text')
      .addColumn('aml_address', 'text')
      .addColumn('aml_completed_at', 'timestamptz')
      .execute();

    // Each external verification channel (here: a card verified at a distinct bank) counts once.
    await db.schema
      .createTable('payment_account_channels')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('payment_accounts.id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('bank_code', 'text', (c) => c.notNull())
      .addColumn('bank_name', 'text', (c) => c.notNull())
      .addColumn('card_kind', 'text', (c) => c.notNull())
      .addColumn('card_last4', 'text', (c) => c.notNull())
      .addColumn('agreement_id', 'text', (c) => c.notNull())
      .addColumn('verified_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('payment_account_channels_unique', ['account_id', 'channel'])
      .execute();
  },
};
