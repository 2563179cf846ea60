import { sql, type Kysely } from 'kysely';

// The privacy domain: policy versions and the acceptances and consents given under them, the
// phone's permission reports, rights requests with their deadline, export jobs and the history
// of corrections. Every row names its user, so deregistration and the retention job find them.
// The first policy version, written from the purposes the issue (16) and DESIGN.md §3 name: the
// policy texts themselves (seed 000) are not in the repository.
const firstPolicyVersion = {
  version: '1.0',
  // In force since before any record the platform keeps (the seed policy's own date is not in the tree).
  effectiveAt: new Date('2020-01-01T00:00:00+08:00'),
  textLocation: 'seed/000-privacy-policy (一 to 九)',
  purposes: [
    { code: 'account', required: true, description: 'Mi account: sign-up, login, sessions, profile (一(一))' },
    { code: 'payment_service', required: true, description: 'Real-name payment account, AML identity checks, payments and their records (一(一), 五)' },
    { code: 'device_cards', required: true, description: 'Bank device cards, transit and door cards on the phone (一(一))' },
    { code: 'device_permissions', required: true, description: 'Phone state, storage, location, camera and album, each asked on use (一(二))' },
    { code: 'risk_control', required: true, description: 'Risk control and anti-fraud on each operation (一(三))' },
    { code: 'customer_service', required: true, description: 'Customer service and complaints (八)' },
    { code: 'aggregate_statistics', required: true, description: 'Counts and durations with no user identifier (一(五))' },
    { code: 'marketing', required: false, description: 'Marketing messages: off until the user opts in, can be turned off at any time' },
  ],
};

export const privacy = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('privacy_policy_versions')
      .addColumn('version', 'text', (c) => c.primaryKey())
      .addColumn('effective_at', 'timestamptz', (c) => c.notNull())
      .addColumn('text_location', 'text', (c) => c.notNull())
      .addColumn('purposes', 'text', (c) => c.notNull())
      .addColumn('major', 'boolean', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.insertInto('privacy_policy_versions').values({
      version: firstPolicyVersion.version, effective_at: firstPolicyVersion.effectiveAt, text_location: firstPolicyVersion.textLocation,
      purposes: JSON.stringify(firstPolicyVersion.purposes), major: true, created_at: firstPolicyVersion.effectiveAt,
    }).execute();
    await db.schema.createTable('policy_acceptances')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('version', 'text', (c) => c.notNull().references('privacy_policy_versions.version'))
      .addColumn('accepted_at', 'timestamptz', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('sign_up', 'login', 'api')`))
      .execute();
    await db.schema.createIndex('policy_acceptances_user').on('policy_acceptances').columns(['user_id', 'accepted_at']).execute();
    await db.schema.createTable('purpose_consents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('granted', 'boolean', (c) => c.notNull())
      .addColumn('policy_version', 'text', (c) => c.notNull().references('privacy_policy_versions.version'))
      .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('purpose_consents_user').on('purpose_consents').columns(['user_id', 'purpose', 'recorded_at']).execute();
    await db.schema.createTable('permission_records')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
      .addColumn('permission', 'text', (c) => c.notNull()
        .check(sql`permission in ('phone_state', 'storage', 'location', 'camera', 'album')`))
      .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('granted', 'revoked')`))
      .addColumn('reported_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('permission_records_user').on('permission_records').columns(['user_id', 'device_id', 'permission']).execute();
    await db.schema.createTable('privacy_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('kind', 'text', (c) => c.notNull()
        .check(sql`kind in ('access', 'correction', 'deletion', 'consent_withdrawal', 'complaint')`))
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('received', 'completed', 'refused')`))
      .addColumn('received_at', 'timestamptz', (c) => c.notNull())
      .addColumn('due_date', 'text', (c) => c.notNull())
      .addColumn('due_at', 'timestamptz', (c) => c.notNull())
      .addColumn('calendar_covered', 'boolean', (c) => c.notNull())
      .addColumn('answered_at', 'timestamptz')
      .addColumn('refusal_reason', 'text')
      .addColumn('answer', 'text')
      .execute();
    await db.schema.createIndex('privacy_requests_user').on('privacy_requests').columns(['user_id', 'received_at']).execute();
    await db.schema.createIndex('privacy_requests_open').on('privacy_requests').columns(['status', 'due_at']).execute();
    await db.schema.createTable('data_exports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('request_id', 'text', (c) => c.notNull().references('privacy_requests.id'))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'ready', 'downloaded', 'expired')`))
      .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
      .addColumn('ready_at', 'timestamptz')
      .addColumn('expires_at', 'timestamptz')
      .addColumn('downloaded_at', 'timestamptz')
      .addColumn('sections', 'text')
      .execute();
    await db.schema.createIndex('data_exports_user').on('data_exports').columns(['user_id', 'requested_at']).execute();
    await db.schema.createTable('profile_history')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('old_value', 'text')
      .addColumn('new_value', 'text')
      .addColumn('changed_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('profile_history_user').on('profile_history').columns(['user_id', 'changed_at']).execute();
    await db.schema.createTable('user_birth_dates')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
      .addColumn('birth_date', 'text', (c) => c.notNull().check(sql`birth_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'`))
      .addColumn('declared_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
