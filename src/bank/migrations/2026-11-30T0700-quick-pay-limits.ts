import type { Kysely } from 'kysely';

export const quickPayLimits = {
  async up(db: Kysely<any>) {
    // A debit declined for a quick-pay limit keeps the limit it would have passed, so a retry with
    // the same reference answers the same refusal; the index finds an agreement's debits of the day.
    await db.schema.alterTable('agreement_transfers').addColumn('limit_fen', 'bigint').execute();
    await db.schema.createIndex('agreement_transfers_agreement_day_idx').on('agreement_transfers')
      .columns(['agreement_id', 'created_at']).execute();
  },
};
