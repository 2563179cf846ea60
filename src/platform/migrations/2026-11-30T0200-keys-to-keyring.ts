import { sql, type Kysely } from 'kysely';

export const keysToKeyring = {
  async up(db: Kysely<any>) {
    // The TSP and personal-data keys live in the keyring now (DESIGN section 2). `createSystem`
    // moves a sandbox's keys there before migrating; a table that still holds keys here means
    // that step did not run, and dropping it would lose what opens the vault.
    const held = await db.selectFrom('tsp_keys').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    if (held.n > 0) {
      throw new Error('the platform database still holds keys (tsp_keys); start it once with a writable (sandbox) keyring '
        + 'so they move to the keyring before migrating');
    }
    await db.schema.dropTable('tsp_keys').execute();
  },
};
