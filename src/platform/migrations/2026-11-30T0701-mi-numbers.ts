import { sql, type Kysely } from 'kysely';
import { drawMiNumber } from '../accounts/mi-number.ts';

export const miNumbers = {
  async up(db: Kysely<any>) {
    // Every Mi account gets its public number; accounts made before this migration get theirs now.
    await db.schema.alterTable('users').addColumn('mi_number', 'text').execute();
    const users = await db.selectFrom('users').select('id').execute();
    const drawn = new Set<string>();
    for (const user of users) {
      let number = drawMiNumber();
      while (drawn.has(number)) number = drawMiNumber();
      drawn.add(number);
      await db.updateTable('users').set({ mi_number: number }).where('id', '=', user.id).execute();
    }
    await db.schema.alterTable('users').alterColumn('mi_number', (c) => c.setNotNull()).execute();
    await db.schema.createIndex('users_mi_number_idx').on('users').column('mi_number').unique().execute();

    // A payer's look-up of a payee: the masked name shown, and a short-lived, single-use
    // confirmation the transfer must carry. Look-ups that found nobody are kept too (payee_user_id
    // null): they count towards the payer's look-up rate limit, so the look-up is no directory.
    await db.schema
      .createTable('payee_confirmations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('payer_user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('payee_user_id', 'text', (c) => c.references('users.id'))
      .addColumn('looked_up_by', 'text', (c) => c.notNull().check(sql`looked_up_by in ('mi_number', 'phone')`))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('used_at', 'timestamptz')
      .addColumn('used_by_transaction', 'text')
      .execute();
    await db.schema.createIndex('payee_confirmations_payer_idx').on('payee_confirmations').columns(['payer_user_id',
      'created_at']).execute();
  },
};
