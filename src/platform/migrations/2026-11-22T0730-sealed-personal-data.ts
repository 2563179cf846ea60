import type { Kysely } from 'kysely';

export const sealedPersonalData = {
  async up(db: Kysely<any>) {
    // The ID number, the ID photo and the address move into sealed columns (payment-account/
    // personal-data.ts): encryption needs the platform's keys, which migrations do not have, so
    // the platform seals any row still in clear when it starts and empties the old columns.
    await db.schema.alterTable('payment_accounts')
      .addColumn('id_number_sealed', 'text')
      .addColumn('id_number_fingerprint', 'text', (c) => c.unique())
      .addColumn('id_number_masked', 'text')
      .addColumn('aml_id_photo_sealed', 'text')
      .addColumn('aml_address_sealed', 'text')
      .execute();
    await db.schema.alterTable('payment_accounts').alterColumn('id_number', (c) => c.dropNotNull()).execute();
    // Uniqueness of an ID number across accounts is the fingerprint's job now.
    await db.schema.alterTable('payment_accounts').dropConstraint('payment_accounts_id_number_key').execute();
  },
};
