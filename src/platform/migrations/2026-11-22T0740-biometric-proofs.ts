import type { Kysely } from 'kysely';

export const biometricProofs = {
  async up(db: Kysely<any>) {
    // A challenge whose signed statement verified is a fingerprint proof for that device; adding a
    // card spends one (devices/service.ts `spendBiometricProof`), so each proof starts one card only.
    await db.schema.alterTable('device_challenges')
      .addColumn('verified_at', 'timestamptz')
      .addColumn('spent_at', 'timestamptz')
      .addColumn('spent_for', 'text')
      .execute();
  },
};
