import { sql, type Kysely } from 'kysely';

export const operators = {
  async up(db: Kysely<any>) {
    // Cards the operators issued. `request_id` makes issuance idempotent for the platform.
    await db.schema
      .createTable('cards')
      .addColumn('card_number', 'text', (c) => c.primaryKey())
      .addColumn('brand_code', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'closed')`))
      .addColumn('close_reason', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('closed_at', 'timestamptz')
      .execute();
    await db.schema.createTable('card_numbers').addColumn('brand_code', 'text', (c) => c.primaryKey())
      .addColumn('last_serial', 'bigint', (c) => c.notNull()).execute();

    // Loads the issuer signed (MAC2). A load counts once the card's TAC confirms it.
    await db.schema
      .createTable('loads')
      .addColumn('load_id', 'text', (c) => c.primaryKey())
      .addColumn('card_number', 'text', (c) => c.notNull())
      .addColumn('online_seq', 'integer', (c) => c.notNull())
      .addColumn('amount_fen', 'bigint', (c) => c.notNull().check(sql`amount_fen > 0`))
      .addColumn('balance_before_fen', 'bigint', (c) => c.notNull())
      .addColumn('random', 'text', (c) => c.notNull())
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('mac2', 'text', (c) => c.notNull())
      .addColumn('load_date', 'text', (c) => c.notNull())
      .addColumn('load_time', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('signed', 'confirmed', 'voided')`))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    // A card counter value carries one confirmed load, never two.
    await db.schema.createIndex('loads_confirmed_once').on('loads').columns(['card_number', 'online_seq']).unique()
      .where(sql.ref('status'), '=', 'confirmed').execute();

    // Offline purchases settled: a (card, offline ATC) is paid once, by the primary key.
    await db.schema
      .createTable('settled_records')
      .addColumn('card_number', 'text', (c) => c.notNull())
      .addColumn('offline_seq', 'integer', (c) => c.notNull())
      .addColumn('issuer_brand', 'text', (c) => c.notNull())
      .addColumn('acquirer_brand', 'text', (c) => c.notNull())
      .addColumn('gate_id', 'text', (c) => c.notNull())
      .addColumn('amount_fen', 'bigint', (c) => c.notNull())
      .addColumn('transaction_type', 'integer', (c) => c.notNull())
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('terminal_seq', 'bigint', (c) => c.notNull())
      .addColumn('tx_date', 'text', (c) => c.notNull())
      .addColumn('tx_time', 'text', (c) => c.notNull())
      .addColumn('tac', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('settled_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('settled_records_pk', ['card_number', 'offline_seq'])
      .execute();
    await db.schema
      .createTable('rejected_records')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('card_number', 'text', (c) => c.notNull())
      .addColumn('offline_seq', 'integer', (c) => c.notNull())
      .addColumn('gate_id', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('tac', 'text', (c) => c.notNull())
      .addColumn('rejected_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('blacklist')
      .addColumn('card_number', 'text', (c) => c.primaryKey())
      .addColumn('brand_code', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
