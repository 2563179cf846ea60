import type { Kysely } from 'kysely';

// Aggregate statistics kept apart from personal data (privacy policy 一(五)): one value per
// China day and metric, no user identifier, so they outlive every deletion.
export const dailyAggregates = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('daily_aggregates')
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('metric', 'text', (c) => c.notNull())
      .addColumn('value', 'bigint', (c) => c.notNull())
      .addColumn('computed_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('daily_aggregates_pk', ['day', 'metric'])
      .execute();
  },
};
