import { sql, type Kysely } from 'kysely';

export const pendingRequestsIndex = {
  async up(db: Kysely<any>) {
    // The reversal worker looks for requests left pending (abandoned mid-forward) on every pass;
    // a partial index keeps that look at the few pending rows, not the whole growing log.
    await db.schema.createIndex('transactions_pending_idx').on('transactions').column('created_at').where(sql.ref('status'), '=', 'pending').execute();
  },
};
