import { sql, type Kysely } from 'kysely';

export const transitMoves = {
  async up(db: Kysely<any>) {
    // A card moved to another device is a new card (new number) that carries the old one's
    // proven balance; a returned card is refunded once the operator's settlement window ends.
    await db.schema.alterTable('transit_cards').addColumn('moved_from', 'text').execute();
    await db.schema.alterTable('transit_cards').addColumn('closed_at', 'timestamptz').execute();
    await db.schema.alterTable('transit_cards').addColumn('proven_balance_fen', 'bigint').execute();
    await db.schema.alterTable('transit_cards').addColumn('final_after', 'timestamptz').execute();
    await db.schema.alterTable('transit_cards').addColumn('refund_target_fen', 'bigint').execute();
    await db.schema.alterTable('transit_cards').addColumn('refunded_at', 'timestamptz').execute();
    // A moved card's balance is carried onto one card only.
    await db.schema.createIndex('transit_cards_moved_once').on('transit_cards').column('moved_from').unique()
      .where(sql<boolean>`moved_from is not null and status <> 'failed'`).execute();
    // The load that puts a carried balance on the new card has no order: nothing is paid for it.
    await db.schema.alterTable('transit_loads').alterColumn('order_id', (c) => c.dropNotNull()).execute();
    await db.schema.alterTable('transit_loads').addColumn('carried_from_card_id', 'text').execute();
  },
};
