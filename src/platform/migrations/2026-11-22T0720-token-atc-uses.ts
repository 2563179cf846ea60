import type { Kysely } from 'kysely';

export const tokenAtcUses = {
  async up(db: Kysely<any>) {
    // Every ATC a device card has spent at an authorization, so a replayed cryptogram is refused.
    // The key is the replay check itself: the TSP inserts (card, ATC) once the cryptogram verifies
    // and refuses when the row was already there (tokens/authorization.ts).
    await db.schema
      .createTable('token_atc_uses')
      .addColumn('device_card_id', 'text', (c) => c.notNull().references('device_cards.id'))
      .addColumn('atc', 'integer', (c) => c.notNull())
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('used_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('token_atc_uses_pkey', ['device_card_id', 'atc'])
      .execute();
  },
};
