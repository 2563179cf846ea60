import { sql, type Kysely } from 'kysely';

// Personal-data breaches (privacy policy 四(一)): what happened, what data, how many people, what
// was done, and when the regulator and the users were told. No user identifier: who was
// affected is found from the incident itself, and the users are told through their own channels.
export const breachRecords = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('breach_records')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .addColumn('discovered_at', 'timestamptz', (c) => c.notNull())
      .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
      .addColumn('recorded_by', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('data_categories', 'text', (c) => c.notNull())
      .addColumn('affected_users_count', 'integer', (c) => c.notNull().check(sql`affected_users_count >= 0`))
      .addColumn('measures', 'text', (c) => c.notNull())
      .addColumn('regulator_notified_at', 'timestamptz')
      .addColumn('regulator_reference', 'text')
      .addColumn('users_notified_at', 'timestamptz')
      .addColumn('users_notification_channel', 'text')
      .execute();
  },
};
