import { sql, type Kysely } from 'kysely';

export const identityCases = {
  async up(db: Kysely<any>) {
    // Important operations that need identity proof and a risk reviewer's decision (risk/identity-cases.ts).
    await db.schema
      .createTable('identity_cases')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('password_recovery', 'unfreeze', 'voucher')`))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending_review', 'approved', 'rejected')`))
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('why', 'text', (c) => c.notNull())
      .addColumn('reviewer', 'text')
      .addColumn('decision_reason', 'text')
      .addColumn('result', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('decided_at', 'timestamptz')
      .addColumn('documents_delete_after', 'timestamptz')
      .execute();
    await db.schema.createIndex('identity_cases_status_idx').on('identity_cases').columns(['status', 'created_at']).execute();
    await db.schema.createIndex('identity_cases_user_idx').on('identity_cases').columns(['user_id', 'created_at']).execute();
    // At most one open case of a type per user.
    await db.schema.createIndex('identity_cases_one_open').on('identity_cases').columns(['user_id', 'type']).unique()
      .where(sql.ref('status'), '=', 'pending_review').execute();

    // The ID card's two sides and a photo holding it, sealed; the row stays (without the image) after deletion.
    await db.schema
      .createTable('identity_documents')
      .addColumn('case_id', 'text', (c) => c.notNull().references('identity_cases.id'))
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('id_front', 'id_back', 'holding_id')`))
      .addColumn('media_type', 'text', (c) => c.notNull())
      .addColumn('width', 'integer', (c) => c.notNull())
      .addColumn('height', 'integer', (c) => c.notNull())
      .addColumn('size_bytes', 'integer', (c) => c.notNull())
      .addColumn('sealed', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('deleted_at', 'timestamptz')
      .addPrimaryKeyConstraint('identity_documents_pk', ['case_id', 'kind'])
      .execute();

    // Electronic transaction vouchers: the signed PDF of one transaction.
    await db.schema
      .createTable('transaction_vouchers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('case_id', 'text', (c) => c.notNull().references('identity_cases.id'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('transaction_id', 'text', (c) => c.notNull())
      .addColumn('pdf', 'bytea', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
