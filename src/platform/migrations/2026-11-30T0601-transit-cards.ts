import { sql, type Kysely } from 'kysely';

export const transitCards = {
  async up(db: Kysely<any>) {
    // Transit cards the wallet issued onto devices. The balance lives on the card (the phone's
    // secure element) and in the operator's books; the platform keeps the card's identity.
    await db.schema
      .createTable('transit_cards')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('brand_code', 'text', (c) => c.notNull())
      .addColumn('brand_kind', 'text', (c) => c.notNull())
      .addColumn('card_number', 'text')
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('issuing', 'active', 'failed', 'moved', 'returned')`))
      .addColumn('issue_order_id', 'text')
      .addColumn('auto_top_up_below_fen', 'bigint')
      .addColumn('auto_top_up_amount_fen', 'bigint')
      .addColumn('low_balance_alert_fen', 'bigint')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    // One live T-Union card per device: the applet AID is shared by every T-Union brand.
    await db.schema.createIndex('transit_cards_one_tunion').on('transit_cards').column('device_id').unique()
      .where(sql<boolean>`brand_kind = 'tunion' and status in ('issuing', 'active')`).execute();
    await db.schema.createIndex('transit_cards_one_per_brand').on('transit_cards').columns(['device_id', 'brand_code']).unique()
      .where(sql<boolean>`status in ('issuing', 'active')`).execute();
    // Top-ups: paid (an order to the operator), then signed by the operator, then on the card.
    await db.schema
      .createTable('transit_loads')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('card_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('amount_fen', 'bigint', (c) => c.notNull().check(sql`amount_fen > 0`))
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('paid', 'signed', 'loaded', 'refunded')`))
      .addColumn('online_seq', 'integer')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('loaded_at', 'timestamptz')
      .execute();
    // The merchant each operator is paid as (fees, deposits, top-ups go through its orders).
    await db.schema
      .createTable('transit_operator_merchants')
      .addColumn('brand_code', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .execute();
  },
};
