import type { Kysely } from 'kysely';

export const deviceRequestNonces = {
  async up(db: Kysely<any>) {
    // The nonce of every device-signed request (limited-use keys are minted only for those), kept
    // until its timestamp is no longer acceptable: the primary key refuses a replay.
    await db.schema
      .createTable('device_request_nonces')
      .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
      .addColumn('nonce', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('device_request_nonces_pkey', ['device_id', 'nonce'])
      .execute();
  },
};
