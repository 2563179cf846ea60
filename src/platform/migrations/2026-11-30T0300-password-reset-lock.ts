import type { Kysely } from 'kysely';

export const passwordResetLock = {
  async up(db: Kysely<any>) {
    // Failed payment-password resets (wrong ID number or wrong code, counted together) and the lock they cause.
    await db.schema.alterTable('payment_accounts')
      .addColumn('reset_failed_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reset_locked_until', 'timestamptz')
      .execute();
  },
};
