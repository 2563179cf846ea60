import { sql, type Kysely } from 'kysely';

/**
 * The staff audit log: append-only and hash-chained (staff/audit.ts). `staff_audit_head` is one
 * row holding the chain's last sequence number and hash: writers lock it, so entries are chained
 * one after another, and a removed last entry shows as a head that points past the table.
 * Triggers refuse UPDATE and DELETE on the log (and DELETE on the head) for every role the
 * application runs as; only someone who can drop triggers can change history, and the verify
 * command (`mipay staff audit verify`) then finds it. The schema name is written out: migrations
 * run through Kysely's schema plugin, which does not rewrite raw SQL.
 */
export const staffAuditLog = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('staff_audit_log')
      .addColumn('seq', 'bigint', (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('at', 'timestamptz', (c) => c.notNull())
      .addColumn('staff_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('subject_user_id', 'text')
      .addColumn('subject_type', 'text')
      .addColumn('subject_id', 'text')
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('staff_audit_log_staff_idx').on('staff_audit_log').columns(['staff_id', 'seq']).execute();
    await db.schema.createIndex('staff_audit_log_subject_user_idx').on('staff_audit_log').columns(['subject_user_id', 'seq']).execute();
    await db.schema.createIndex('staff_audit_log_action_idx').on('staff_audit_log').columns(['action', 'seq']).execute();

    await db.schema
      .createTable('staff_audit_head')
      .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    // The genesis: sequence 0 and a hash of 64 zeros.
    await db.insertInto('staff_audit_head').values({ id: 1, seq: 0, hash: '0'.repeat(64) }).execute();

    await sql.raw(String.raw`
create or replace function platform.staff_audit_refuse_change() returns trigger language plpgsql as $fn$
begin
  raise exception 'the staff audit log is append-only: % on % refused', tg_op, tg_table_name using errcode = '42501';
end;
$fn$`).execute(db);
    // One statement per call: prepared statements take one command each.
    for (const trigger of [
      'staff_audit_log_append_only before update or delete on platform.staff_audit_log for each row',
      'staff_audit_log_no_truncate before truncate on platform.staff_audit_log for each statement',
      'staff_audit_head_no_delete before delete on platform.staff_audit_head for each row',
    ]) {
      await sql.raw(`create trigger ${trigger} execute function platform.staff_audit_refuse_change()`).execute(db);
    }
  },
};
