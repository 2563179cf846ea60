import type { Kysely } from 'kysely';

export const cardMoves = {
  async up(db: Kysely<any>) {
    // Closing a card for a move or a return: the challenge its close proof must cover, the
    // balance the card proved under its TAC key, and for a move the card that carried that
    // balance on (and the one load that put it there, so it is carried once).
    await db.schema.alterTable('cards').addColumn('close_challenge', 'text').execute();
    await db.schema.alterTable('cards').addColumn('proven_balance_fen', 'bigint').execute();
    await db.schema.alterTable('cards').addColumn('carried_to', 'text').execute();
    await db.schema.alterTable('cards').addColumn('carry_load_id', 'text').execute();
  },
};
