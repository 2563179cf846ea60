import type { Kysely } from 'kysely';

export const terminalKeys = {
  async up(db: Kysely<any>) {
    // Terminal keys leave the table in clear: the TMK from registration and the working keys
    // (TPK, TAK) of the last sign-on are kept wrapped under the keyring's terminal KEK. A
    // terminal registered before this has no TMK and must be registered again (its clear TPK
    // is dropped rather than wrapped: the migration has no keyring).
    await db.schema.alterTable('terminals').dropColumn('tpk_hex').execute();
    await db.schema.alterTable('terminals')
      .addColumn('tmk_wrapped', 'text')
      .addColumn('tpk_wrapped', 'text')
      .addColumn('tak_wrapped', 'text')
      .addColumn('keys_issued_at', 'timestamptz')
      .addColumn('key_generation', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
