import { sql, type Kysely } from 'kysely';

// Door cards stay on the phone; the platform keeps only what the user backs up for the user
// center: a name, the UID masked (first and last byte) and the card type. Never a full UID,
// a key or the card's memory.
export const doorCardBackups = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('door_card_backups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      // The phone's own random id of the card (door_…): backing up again updates the same row.
      .addColumn('card_ref', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('uid_masked', 'text', (c) =>
        c.notNull().check(sql`uid_masked ~ '^[0-9A-F]{2}(:\\*\\*)+:[0-9A-F]{2}$'`),
      )
      .addColumn('card_type', 'text', (c) =>
        c.notNull().check(sql`card_type in ('mifare_classic_1k', 'mifare_classic_4k')`),
      )
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('door_card_backups_card_ref_unique', ['user_id', 'card_ref'])
      .execute();
  },
};
