import { sql, type Kysely } from 'kysely';

/**
 * Staff: the people who run the platform (support agents, risk reviewers, compliance officers,
 * admins), kept apart from users: their own table, roles, sessions and second factor (TOTP).
 * Nobody signs up as staff; `mipay staff create` makes the first admin.
 */
export const staff = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('staff')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      // The TOTP secret, sealed (AES-256-GCM) under the keyring's `platform.staff-totp` key.
      .addColumn('totp_secret_sealed', 'text', (c) => c.notNull())
      // The last time step a code was accepted for: a code is good once (RFC 6238 section 5.2).
      .addColumn('totp_last_step', 'bigint')
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'disabled')`))
      .addColumn('login_failed_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('login_locked_until', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('disabled_at', 'timestamptz')
      .execute();

    await db.schema
      .createTable('staff_roles')
      .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id'))
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('support_agent', 'risk_reviewer', 'compliance_officer', 'admin')`))
      .addColumn('granted_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('staff_roles_pk', ['staff_id', 'role'])
      .execute();

    await db.schema
      .createTable('staff_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id'))
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .execute();
    await db.schema.createIndex('staff_sessions_staff_idx').on('staff_sessions').columns(['staff_id', 'created_at']).execute();
  },
};
