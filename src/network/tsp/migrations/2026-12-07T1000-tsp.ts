import { sql, type Kysely } from 'kysely';

/**
 * The TSP's schema, and the move of the token tables out of the platform's: a data folder from
 * before the TSP moved to the network keeps its device cards. Runs before the platform's
 * migration `2026-12-07T1000-device-card-references`, which drops what was copied here
 * (src/cli/system.ts migrates `tsp` first). Token reference ids of moved tokens are their old
 * device card ids, so their vault rows (whose AAD names that id) still open.
 */
export const tsp = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('tokens')
      .addColumn('token_ref_id', 'text', (c) => c.primaryKey())
      .addColumn('wallet_card_id', 'text', (c) => c.notNull())
      .addColumn('bank_code', 'text', (c) => c.notNull())
      .addColumn('token_number', 'text', (c) => c.notNull().unique())
      .addColumn('token_last4', 'text', (c) => c.notNull())
      .addColumn('pan_last4', 'text', (c) => c.notNull())
      .addColumn('token_expiry_yymm', 'text', (c) => c.notNull())
      .addColumn('token_sequence', 'text', (c) => c.notNull())
      .addColumn('cryptogram_algorithm', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'suspended', 'deleted')`))
      .addColumn('status_reason', 'text', (c) => c.notNull())
      .addColumn('next_atc', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tokens_wallet_card_idx').on('tokens').column('wallet_card_id').execute();

    await db.schema
      .createTable('token_vault')
      .addColumn('token_ref_id', 'text', (c) => c.primaryKey().references('tokens.token_ref_id'))
      .addColumn('kek_id', 'text', (c) => c.notNull())
      .addColumn('wrapped_data_key', 'text', (c) => c.notNull())
      .addColumn('pan_ciphertext', 'text', (c) => c.notNull())
      .addColumn('pan_fingerprint', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('token_vault_fingerprint_idx').on('token_vault').column('pan_fingerprint').execute();

    await db.schema
      .createTable('luk_batches')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_ref_id', 'text', (c) => c.notNull().references('tokens.token_ref_id'))
      .addColumn('atc_first', 'integer', (c) => c.notNull())
      .addColumn('key_count', 'integer', (c) => c.notNull().check(sql`key_count > 0`))
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('live', 'superseded')`))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('luk_batches_token_idx').on('luk_batches').columns(['token_ref_id', 'atc_first']).execute();

    await db.schema
      .createTable('token_atc_uses')
      .addColumn('token_ref_id', 'text', (c) => c.notNull().references('tokens.token_ref_id'))
      .addColumn('atc', 'integer', (c) => c.notNull())
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('used_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('token_atc_uses_pkey', ['token_ref_id', 'atc'])
      .execute();

    await db.schema
      .createTable('token_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_ref_id', 'text', (c) => c.notNull().references('tokens.token_ref_id'))
      .addColumn('from_status', 'text')
      .addColumn('to_status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('token_events_token_idx').on('token_events').columns(['token_ref_id', 'created_at']).execute();

    await db.schema
      .createTable('wallet_notices')
      .addColumn('seq', 'bigserial', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('status', 'transaction')`))
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    // An existing data folder: the platform's token tables move here (a fresh one has none yet).
    const { rows } = await sql<{ vault: string | null; uses: string | null }>`
      select to_regclass('platform.token_vault')::text as vault, to_regclass('platform.token_atc_uses')::text as uses`.execute(db);
    if (!rows[0]?.vault) return;
    // An inactive device card never reached a phone (provisioning activates it in the same transaction).
    await sql`
      insert into tsp.tokens (token_ref_id, wallet_card_id, bank_code, token_number, token_last4, pan_last4, token_expiry_yymm,
        token_sequence, cryptogram_algorithm, status, status_reason, next_atc, created_at, updated_at)
      select id, id, bank_code, token_number, token_last4, pan_last4, token_expiry_yymm, token_sequence, cryptogram_algorithm,
        case when status = 'inactive' then 'deleted' else status end, status_reason, next_atc, created_at, updated_at
      from platform.device_cards`.execute(db);
    await sql`
      insert into tsp.token_vault (token_ref_id, kek_id, wrapped_data_key, pan_ciphertext, pan_fingerprint, created_at)
      select device_card_id, kek_id, wrapped_data_key, pan_ciphertext, pan_fingerprint, created_at from platform.token_vault`.execute(db);
    await sql`
      insert into tsp.luk_batches (id, token_ref_id, atc_first, key_count, expires_at, status, created_at)
      select id, device_card_id, atc_first, key_count, expires_at, status, created_at from platform.luk_batches`.execute(db);
    if (rows[0].uses) {
      await sql`
        insert into tsp.token_atc_uses (token_ref_id, atc, terminal_id, used_at)
        select device_card_id, atc, terminal_id, used_at from platform.token_atc_uses`.execute(db);
    }
    // A phone reported lost: the old TSP looked at the device; the new one knows only its tokens.
    await sql`
      update tsp.tokens t set status = 'suspended', status_reason = 'device_lost'
      from platform.device_cards c join platform.devices d on d.id = c.device_id
      where c.id = t.token_ref_id and t.status = 'active' and d.status <> 'active'`.execute(db);
  },
};
