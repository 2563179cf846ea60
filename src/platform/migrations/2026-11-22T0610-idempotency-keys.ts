import { sql, type Kysely } from 'kysely';

export const idempotencyKeys = {
  async up(db: Kysely<any>) {
    // The first response to each (caller, Idempotency-Key): replayed to retries for 24 hours.
    await db.schema
      .createTable('idempotency_keys')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('in_progress', 'completed')`))
      .addColumn('response_status', 'integer')
      .addColumn('response_body', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('locked_until', 'timestamptz', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
      .execute();
  },
};
