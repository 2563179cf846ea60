import { sql, type Kysely } from 'kysely';

export const cardNumbersAtRest = {
  async up(db: Kysely<any>) {
    // The log keeps no full card or token number (card-number.ts): first 6 + last 4, a keyed
    // hash, and the number sealed only while a reversal or completion may need it. Rows logged
    // before keep their first 6 and last 4 and lose the rest (the migration has no keyring):
    // they can still be cleared, but no longer refunded, completed or reversed through the network.
    await db.schema.alterTable('transactions')
      .addColumn('pan_first6', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('pan_last4', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('pan_hash', 'text')
      .addColumn('pan_sealed', 'text')
      .addColumn('token_last4', 'text')
      .addColumn('token_hash', 'text')
      .addColumn('token_sealed', 'text')
      .execute();
    await db.updateTable('transactions').set({
      pan_first6: sql`substr(pan, 1, 6)`, pan_last4: sql`substr(pan, length(pan) - 3)`,
      token_last4: sql`case when token is null then null else substr(token, length(token) - 3) end`,
    }).execute();
    await db.schema.alterTable('transactions').dropColumn('pan').dropColumn('token').execute();
  },
};
