import { sql, type Kysely } from 'kysely';

export const devices = {
  async up(db: Kysely<any>) {
    // A phone registered to a Mi account. `hardware_id` is the phone's own device id; the public
    // key is the phone's ECDSA P-256 key (SPKI DER, base64): its signatures carry biometric results.
    await db.schema
      .createTable('devices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('hardware_id', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('os_version', 'text', (c) => c.notNull())
      .addColumn('nfc', 'boolean', (c) => c.notNull())
      .addColumn('secure_element', 'boolean', (c) => c.notNull())
      .addColumn('fingerprint_enrolled', 'boolean', (c) => c.notNull())
      .addColumn('find_device_on', 'boolean', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'disabled', 'deleted')`))
      .addColumn('registered_at', 'timestamptz', (c) => c.notNull())
      .addColumn('disabled_at', 'timestamptz')
      .addColumn('deleted_at', 'timestamptz')
      .execute();
    // A phone is registered once at a time (to one account); a deleted one may be registered again.
    await db.schema.createIndex('devices_live_hardware_idx').on('devices').column('hardware_id').unique()
      .where(sql.ref('status'), '<>', 'deleted').execute();
    await db.schema.createIndex('devices_user_idx').on('devices').columns(['user_id', 'registered_at']).execute();

    // Single-use challenges the phone signs together with a biometric result.
    await db.schema
      .createTable('device_challenges')
      .addColumn('nonce', 'text', (c) => c.primaryKey())
      .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('used_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('device_challenges_device_idx').on('device_challenges').columns(['device_id', 'created_at']).execute();
  },
};
