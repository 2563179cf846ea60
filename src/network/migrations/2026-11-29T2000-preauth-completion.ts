import { sql, type Kysely } from 'kysely';

export const preauthCompletion = {
  async up(db: Kysely<any>) {
    // Pre-authorization completions (0200, field 25 = 06) are logged as their own kind: cleared as debits, found by their authorization's RRN.
    await db.schema.alterTable('transactions').dropConstraint('transactions_kind_check').execute();
    await db.schema.alterTable('transactions')
      .addCheckConstraint('transactions_kind_check', sql`kind in ('authorization', 'purchase', 'refund', 'completion')`)
      .execute();
  },
};
