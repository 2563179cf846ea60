import { sql, type Kysely } from 'kysely';

/**
 * The token service moved to the network (UnionPay's TSP, schema `tsp`): the platform keeps a
 * device card REFERENCE — the TSP's token reference id, last 4 of the token and of the card,
 * bank, product, status — and nothing that names the card number behind a token. The token
 * tables were copied into `tsp` by its own migration, which runs first; here they go.
 */
export const deviceCardReferences = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('device_cards').addColumn('token_ref_id', 'text').execute();
    await db.schema.alterTable('device_cards').addColumn('token_masked', 'text').execute();
    // Moved tokens keep their device card id as their reference id (see the TSP's migration).
    await db.updateTable('device_cards').set({
      token_ref_id: sql`id`, token_masked: sql`substr(token_number, 1, 6) || repeat('*', length(token_number) - 10) || token_last4`,
    }).execute();
    await db.schema.alterTable('device_cards').alterColumn('token_masked', (c) => c.setNotNull()).execute();
    await db.schema.alterTable('device_cards').alterColumn('token_ref_id', (c) => c.setNotNull()).execute();
    await db.schema.createIndex('device_cards_token_ref_idx').on('device_cards').column('token_ref_id').unique().execute();

    await db.schema.dropTable('token_atc_uses').execute();
    await db.schema.dropTable('luk_batches').execute();
    await db.schema.dropTable('token_vault').execute();
    for (const column of ['token_number', 'token_expiry_yymm', 'token_sequence', 'cryptogram_algorithm', 'next_atc']) {
      await db.schema.alterTable('device_cards').dropColumn(column).execute();
    }

    // Lifecycle changes the wallet makes (user, device lost/found/deleted, logout) that the TSP
    // has yet to hear: written in the transaction of the change, sent in order after it commits.
    await db.schema
      .createTable('device_card_tsp_commands')
      .addColumn('seq', 'bigserial', (c) => c.primaryKey())
      .addColumn('token_ref_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'suspended', 'deleted')`))
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('retire_keys', 'boolean', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
