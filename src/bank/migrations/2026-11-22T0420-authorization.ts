import { sql, type Kysely } from 'kysely';

/**
 * The issuer's side of card payments: master keys per bank, each card's authorization state
 * (last ATC, PIN verification value, wrong PIN tries, amount on hold) and every ISO 8583
 * message answered, which is what makes duplicates and reversals exactly-once.
 */
export const authorization = {
  async up(db: Kysely<any>) {
    // Sandbox keys, generated on first start. A production issuer keeps these in an HSM and
    // only ever sees them under a key-encrypting key; never logged either way.
    await db.schema
      .createTable('issuer_keys')
      .addColumn('bank_code', 'text', (c) => c.primaryKey())
      .addColumn('ac_algorithm', 'text', (c) => c.notNull().check(sql`ac_algorithm in ('tdes', 'sm4', 'aes')`))
      .addColumn('imk_ac_hex', 'text', (c) => c.notNull())
      .addColumn('zpk_hex', 'text', (c) => c.notNull())
      .addColumn('pvk_hex', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('card_authorization_state')
      .addColumn('pan', 'text', (c) => c.primaryKey().references('card_accounts.pan'))
      .addColumn('last_atc', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('pin_verification_value', 'text')
      .addColumn('pin_wrong_tries', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('held_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addCheckConstraint('card_authorization_state_held_check', sql`held_fen >= 0`)
      .execute();

    await db.schema
      .createTable('authorization_messages')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      // mti | acquirer | STAN | transmission date-time: what field 90 of a reversal names.
      .addColumn('message_key', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('authorization', 'purchase', 'refund', 'reversal', 'reversed_before_arrival')`))
      .addColumn('pan', 'text')
      .addColumn('amount_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('rrn', 'text')
      .addColumn('terminal_id', 'text')
      .addColumn('response_code', 'text', (c) => c.notNull())
      .addColumn('decline_reason', 'text')
      .addColumn('auth_code', 'text')
      .addColumn('response_icc_hex', 'text')
      // What this message did to the card: money on hold, and money moved on the balance (signed).
      .addColumn('held_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('balance_delta_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('refunded_fen', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('original_rrn', 'text')
      .addColumn('reversed_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('authorization_messages_rrn_idx').on('authorization_messages').column('rrn').execute();
  },
};
