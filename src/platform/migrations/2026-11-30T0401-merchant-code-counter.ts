import { sql, type Kysely } from 'kysely';

export const merchantCodeCounter = {
  async up(db: Kysely<any>) {
    // The serial of the next merchant number (merchants/merchant-code.ts): one row, so merchant
    // codes are drawn in turn instead of at random (5 random digits collided by the birthday bound).
    await db.schema
      .createTable('merchant_code_counter')
      .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
      .addColumn('next_serial', 'bigint', (c) => c.notNull())
      .execute();
    const merchants = await db.selectFrom('merchants').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    await db.insertInto('merchant_code_counter').values({ id: 1, next_serial: Number(merchants.n) + 1 }).execute();
  },
};
