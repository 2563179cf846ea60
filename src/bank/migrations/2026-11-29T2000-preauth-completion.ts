import { sql, type Kysely } from 'kysely';

export const preauthCompletion = {
  async up(db: Kysely<any>) {
    // Pre-authorization completion (0200, processing code 000000, field 25 = 06): the hold of an
    // approved 0100 becomes a debit once; `completed_at` marks the authorization it completed.
    await db.schema.alterTable('authorization_messages').dropConstraint('authorization_messages_kind_check').execute();
    await db.schema.alterTable('authorization_messages')
      .addCheckConstraint('authorization_messages_kind_check', sql`kind in ('authorization', 'purchase', 'refund', 'completion', 'reversal', 'reversed_before_arrival')`)
      .execute();
    await db.schema.alterTable('authorization_messages').addColumn('completed_at', 'timestamptz').execute();
  },
};
