import { sql, type Kysely } from 'kysely';

export const keysToKeyring = {
  async up(db: Kysely<any>) {
    // The banks' IMK-AC, ZPK and PVK live in the keyring now (DESIGN section 2); see the
    // platform's migration of the same name for why a table that still holds keys stops here.
    const held = await db.selectFrom('issuer_keys').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    if (held.n > 0) {
      throw new Error('the bank database still holds keys (issuer_keys); start it once with a writable (sandbox) keyring '
        + 'so they move to the keyring before migrating');
    }
    await db.schema.dropTable('issuer_keys').execute();
  },
};
