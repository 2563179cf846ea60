import { sql, type Kysely } from 'kysely';

export const riskOperations = {
  async up(db: Kysely<any>) {
    // The operation log: every important user operation with the context it came from (risk/context.ts).
    await db.schema
      .createTable('risk_operations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('operation', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('succeeded', 'failed', 'failed_password', 'refused')`))
      .addColumn('amount_fen', 'bigint')
      .addColumn('payee', 'text')
      .addColumn('card_id', 'text')
      .addColumn('device_id', 'text')
      .addColumn('device_model', 'text')
      .addColumn('os_version', 'text')
      .addColumn('network_type', 'text')
      .addColumn('ip', 'text')
      .addColumn('country', 'text')
      .addColumn('region', 'text')
      .addColumn('city', 'text')
      .addColumn('decision_id', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('risk_operations_user_idx').on('risk_operations').columns(['user_id', 'created_at']).execute();

    // Decisions with the rules that fired and the rule set version that gave them.
    await db.schema
      .createTable('risk_decisions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('operation', 'text', (c) => c.notNull())
      .addColumn('level', 'text', (c) => c.notNull().check(sql`level in ('allow', 'step_up', 'review', 'deny')`))
      .addColumn('enforced', 'text', (c) => c.notNull().check(sql`enforced in ('allowed', 'stepped_up', 'refused')`))
      .addColumn('fired', 'text', (c) => c.notNull())
      .addColumn('rule_set_version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('risk_decisions_created_idx').on('risk_decisions').columns(['created_at']).execute();
    await db.schema.createIndex('risk_decisions_user_idx').on('risk_decisions').columns(['user_id', 'created_at']).execute();

    // Rule sets as data: a change is a new version; exactly one is active.
    await db.schema
      .createTable('risk_rule_sets')
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('rules', 'text', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('active', 'boolean', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('risk_rule_sets_one_active').on('risk_rule_sets').column('active').unique().where('active', '=', true).execute();
  },
};
