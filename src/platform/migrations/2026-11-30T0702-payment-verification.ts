import { sql, type Kysely } from 'kysely';

export const paymentVerification = {
  async up(db: Kysely<any>) {
    // Fingerprint payment is turned on per device (with the payment password) and off again.
    await db.schema.alterTable('devices').addColumn('fingerprint_payment_enabled_at', 'timestamptz').execute();
    // A device challenge spent by a payment statement names the transaction it verified.
    await db.schema.alterTable('device_challenges').addColumn('payment_binding', 'text').execute();

    // Payment certificates issued by the platform's CA on the phone's CSR (the private key stays
    // on the phone). `daily_limit_fen` is the limit the holder agreed for payments signed with it.
    await db.schema
      .createTable('payment_certificates')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('serial_number', 'text', (c) => c.notNull().unique())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('certificate_pem', 'text', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('daily_limit_fen', 'bigint', (c) => c.notNull().check(sql`daily_limit_fen > 0`))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'revoked')`))
      .addColumn('not_before', 'timestamptz', (c) => c.notNull())
      .addColumn('not_after', 'timestamptz', (c) => c.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('revocation_reason', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('payment_certificates_user_idx').on('payment_certificates').columns(['user_id',
      'created_at']).execute();

    // Single-use nonces a payment signed with a certificate must carry.
    await db.schema
      .createTable('certificate_challenges')
      .addColumn('nonce', 'text', (c) => c.primaryKey())
      .addColumn('certificate_id', 'text', (c) => c.notNull().references('payment_certificates.id'))
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('used_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
