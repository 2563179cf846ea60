import type { Kysely } from 'kysely';

export const merchantOwners = {
  async up(db: Kysely<any>) {
    // Merchants onboard from a signed-in Mi account (issue 10, section 8); sandbox test merchants have no owner.
    await db.schema.alterTable('merchants').addColumn('owner_user_id', 'text', (c) => c.references('users.id')).execute();
    await db.schema.createIndex('merchants_owner_idx').on('merchants').column('owner_user_id').execute();
  },
};
