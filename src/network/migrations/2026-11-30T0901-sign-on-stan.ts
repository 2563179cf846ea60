import type { Kysely } from 'kysely';

export const signOnStan = {
  async up(db: Kysely<any>) {
    // The STAN of each terminal's last accepted sign-on: a replayed 0800 (same or older STAN) is refused.
    await db.schema.alterTable('terminals').addColumn('sign_on_stan', 'text').execute();
  },
};
