import { sql, type Kysely } from 'kysely';

export const tokens = {
  async up(db: Kysely<any>) {
    // The TSP's keys when none are configured (sandbox): generated once, kept here. See tokens/keys.ts.
    await db.schema
      .createTable('tsp_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('key_hex', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    // A device card (token) on a registered device. No card number here: the token → PAN map is
    // in token_vault, encrypted.
    await db.schema
      .createTable('device_cards')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
      .addColumn('bound_card_id', 'text', (c) => c.notNull().references('bound_cards.id'))
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('bank', 'transit')`))
      .addColumn('bank_code', 'text', (c) => c.notNull())
      .addColumn('bank_name', 'text', (c) => c.notNull())
      .addColumn('card_kind', 'text', (c) => c.notNull())
      .addColumn('card_ref', 'text', (c) => c.notNull())
      .addColumn('pan_masked', 'text', (c) => c.notNull())
      .addColumn('pan_last4', 'text', (c) => c.notNull())
      .addColumn('token_number', 'text', (c) => c.notNull().unique())
      .addColumn('token_last4', 'text', (c) => c.notNull())
      .addColumn('token_expiry_yymm', 'text', (c) => c.notNull())
      .addColumn('token_sequence', 'text', (c) => c.notNull())
      .addColumn('cryptogram_algorithm', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('inactive', 'active', 'suspended', 'deleted')`))
      .addColumn('status_reason', 'text', (c) => c.notNull())
      .addColumn('next_atc', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    // One live device card per physical card per device.
    await db.schema.createIndex('device_cards_live_card_device_idx').on('device_cards').columns(['device_id', 'bank_code', 'card_ref']).unique()
      .where(sql.ref('status'), '<>', 'deleted').execute();
    await db.schema.createIndex('device_cards_card_idx').on('device_cards').columns(['bank_code', 'card_ref']).execute();
    await db.schema.createIndex('device_cards_user_idx').on('device_cards').columns(['user_id', 'created_at']).execute();

    // The vault: token → PAN, encrypted under a per-token data key which is itself encrypted
    // under the key-encryption key (envelope encryption, AES-256-GCM both). `pan_fingerprint` is an
    // HMAC of the PAN so a bank's "all tokens of this PAN" finds them without decrypting.
    await db.schema
      .createTable('token_vault')
      .addColumn('device_card_id', 'text', (c) => c.primaryKey().references('device_cards.id'))
      .addColumn('kek_id', 'text', (c) => c.notNull())
      .addColumn('wrapped_data_key', 'text', (c) => c.notNull())
      .addColumn('pan_ciphertext', 'text', (c) => c.notNull())
      .addColumn('pan_fingerprint', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('token_vault_fingerprint_idx').on('token_vault').column('pan_fingerprint').execute();

    // Every lifecycle change, with why and who asked.
    await db.schema
      .createTable('device_card_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('device_card_id', 'text', (c) => c.notNull().references('device_cards.id'))
      .addColumn('from_status', 'text')
      .addColumn('to_status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('device_card_events_card_idx').on('device_card_events').columns(['device_card_id', 'created_at']).execute();

    // Limited-use key batches: an ATC range and an expiry. The keys themselves are derived, handed
    // to the phone once, and never stored (see tokens/keys.ts).
    await db.schema
      .createTable('luk_batches')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('device_card_id', 'text', (c) => c.notNull().references('device_cards.id'))
      .addColumn('atc_first', 'integer', (c) => c.notNull())
      .addColumn('key_count', 'integer', (c) => c.notNull().check(sql`key_count > 0`))
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('live', 'superseded')`))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('luk_batches_card_idx').on('luk_batches').columns(['device_card_id', 'atc_first']).execute();
  },
};
