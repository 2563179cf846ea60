import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { PersonalDataVault } from '../payment-account/personal-data.ts';
import type { PrivacyDb } from './tables.ts';

/**
 * One domain's part of a user's data. `export` answers everything the domain holds about the
 * user (for the copy of everything, 五(一)); `erase`, where given, deletes or anonymises what is
 * not kept for the law once the user leaves. Other domains (risk, support, …) register theirs
 * at wiring: `sections.register({ name: 'risk', … })`.
 */
export interface PrivacySection {
  /** The file name in the export (`<name>.json`): lower-case words with `-`. */
  name: string;
  /** One sentence for the export's human-readable summary. */
  description: string;
  export(userId: string): Promise<Record<string, unknown[]>>;
  erase?(userId: string): Promise<void>;
}

export class PrivacySections {
  readonly #sections = new Map<string, PrivacySection>();

  register(section: PrivacySection): void {
    assert.match(section.name, /^[a-z][a-z0-9-]{0,40}$/, `section name ${section.name}`);
    assert.ok(!this.#sections.has(section.name), `privacy section ${section.name} registered twice`);
    this.#sections.set(section.name, section);
  }

  all(): PrivacySection[] {
    return [...this.#sections.values()];
  }
}

const rowsMax = 100_000;

/**
 * The sections of the platform's own domains. Secrets that are not the user's data (password
 * hashes, token hashes, wrapped keys, card references at the bank) are left out; the sealed AML
 * data is opened, because the holder is the only one this export is ever given to.
 */
export function platformSections(db: Kysely<PrivacyDb>, vault: PersonalDataVault): PrivacySection[] {
  return [
    {
      name: 'account', description: 'The Mi account: number, phone, nickname, avatar, status, declared date of birth, and each correction.',
      async export(userId) {
        const users = await db.selectFrom('users').select(['id', 'mi_number', 'phone', 'nickname', 'avatar_url', 'status', 'created_at'])
          .where('id', '=', userId).execute();
        const birth = await db.selectFrom('user_birth_dates').selectAll().where('user_id', '=', userId).execute();
        const history = await db.selectFrom('profile_history').selectAll().where('user_id', '=', userId).orderBy('changed_at').limit(rowsMax).execute();
        return { users, birth_dates: birth, profile_history: history };
      },
      async erase(userId) {
        const user = await db.selectFrom('users').select('phone').where('id', '=', userId).executeTakeFirstOrThrow();
        await db.deleteFrom('sms_codes').where('phone', '=', user.phone).execute();
        await db.deleteFrom('user_birth_dates').where('user_id', '=', userId).execute();
        await db.deleteFrom('profile_history').where('user_id', '=', userId).execute();
      },
    },
    {
      name: 'sessions', description: 'Every login session: when, from which address and browser, until when.',
      async export(userId) {
        return { sessions: await db.selectFrom('sessions').select(['id', 'created_at', 'last_seen_at', 'expires_at', 'revoked_at', 'user_agent', 'ip'])
          .where('user_id', '=', userId).orderBy('created_at').limit(rowsMax).execute() };
      },
      async erase(userId) {
        await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
      },
    },
    {
      name: 'payment-account', description: 'The real-name payment account with the AML data in clear (name, ID number, ID photo, address), its verification channels and limit usage.',
      async export(userId) {
        const account = await db.selectFrom('payment_accounts').selectAll().where('user_id', '=', userId).executeTakeFirst();
        if (!account) return { payment_accounts: [], channels: [], limit_usage: [] };
        const open = (field: 'id_number' | 'aml_id_photo' | 'aml_address', sealed: string | null) =>
          (sealed === null ? null : vault.open(account.id, field, sealed));
        const view = {
          id: account.id, status: account.status, opened_at: account.opened_at, holder_name: account.holder_name,
          id_number: open('id_number', account.id_number_sealed)?.toString('utf8') ?? null, birth_date: account.birth_date,
          aml_gender: account.aml_gender, aml_occupation: account.aml_occupation, aml_nationality: account.aml_nationality,
          aml_id_type: account.aml_id_type, aml_id_expiry: account.aml_id_expiry, aml_completed_at: account.aml_completed_at,
          aml_address: open('aml_address', account.aml_address_sealed)?.toString('utf8') ?? null,
          aml_id_photo_type: account.aml_id_photo_type, aml_id_photo_base64: open('aml_id_photo', account.aml_id_photo_sealed)?.toString('base64') ?? null,
        };
        const channels = await db.selectFrom('payment_account_channels').select(['id', 'channel', 'bank_code', 'bank_name', 'card_kind', 'card_last4', 'verified_at'])
          .where('account_id', '=', account.id).execute();
        const limits = await db.selectFrom('limit_usage').selectAll().where('account_id', '=', account.id).limit(rowsMax).execute();
        return { payment_accounts: [view], channels, limit_usage: limits };
      },
    },
    {
      name: 'cards', description: 'Bank cards bound for quick pay (bank, kind, masked number) and payment certificates.',
      async export(userId) {
        const cards = await db.selectFrom('bound_cards').select(['id', 'bank_code', 'bank_name', 'card_kind', 'brand', 'last4', 'masked_number', 'status', 'bound_at', 'unbound_at'])
          .where('user_id', '=', userId).orderBy('bound_at').limit(rowsMax).execute();
        const certificates = await db.selectFrom('payment_certificates')
          .select(['id', 'serial_number', 'subject', 'status', 'daily_limit_fen', 'not_before', 'not_after', 'revoked_at', 'revocation_reason', 'created_at'])
          .where('user_id', '=', userId).limit(rowsMax).execute();
        return { bound_cards: cards, payment_certificates: certificates };
      },
    },
    {
      name: 'devices', description: 'Registered phones and the bank device cards on them (masked numbers, status history).',
      async export(userId) {
        const devices = await db.selectFrom('devices')
          .select(['id', 'model', 'os_version', 'nfc', 'secure_element', 'fingerprint_enrolled', 'find_device_on', 'status', 'registered_at', 'disabled_at', 'deleted_at'])
          .where('user_id', '=', userId).limit(rowsMax).execute();
        const deviceCards = await db.selectFrom('device_cards')
          .select(['id', 'device_id', 'bound_card_id', 'kind', 'bank_name', 'card_kind', 'pan_masked', 'token_last4', 'status', 'status_reason', 'created_at', 'updated_at'])
          .where('user_id', '=', userId).limit(rowsMax).execute();
        const ids = deviceCards.map((c) => c.id);
        const events = ids.length === 0 ? [] : await db.selectFrom('device_card_events').selectAll().where('device_card_id', 'in', ids).limit(rowsMax).execute();
        return { devices, device_cards: deviceCards, device_card_events: events };
      },
    },
    {
      name: 'transit-and-door-cards', description: 'Transit cards and their top-ups, and door card backups (name and masked UID).',
      async export(userId) {
        return {
          transit_cards: await db.selectFrom('transit_cards').selectAll().where('user_id', '=', userId).limit(rowsMax).execute(),
          transit_loads: await db.selectFrom('transit_loads').selectAll().where('user_id', '=', userId).limit(rowsMax).execute(),
          door_card_backups: await db.selectFrom('door_card_backups').selectAll().where('user_id', '=', userId).limit(rowsMax).execute(),
        };
      },
      async erase(userId) {
        await db.deleteFrom('door_card_backups').where('user_id', '=', userId).execute();
      },
    },
    {
      name: 'transactions', description: 'Every transaction paid or received: type, amount, time, channel, merchant, counterparty, status.',
      async export(userId) {
        const transactions = await db.selectFrom('transactions').selectAll()
          .where((eb) => eb.or([eb('payer_user_id', '=', userId), eb('payee_user_id', '=', userId)])).orderBy('created_at').limit(rowsMax).execute();
        const orders = await db.selectFrom('orders').select(['id', 'merchant_id', 'amount_fen', 'refunded_fen', 'description', 'status', 'paid_at', 'created_at'])
          .where('payer_user_id', '=', userId).limit(rowsMax).execute();
        const payees = await db.selectFrom('payee_confirmations').select(['id', 'looked_up_by', 'created_at', 'used_at'])
          .where('payer_user_id', '=', userId).limit(rowsMax).execute();
        const merchants = await db.selectFrom('merchants').select(['id', 'name', 'code', 'mcc', 'created_at']).where('owner_user_id', '=', userId).execute();
        return { transactions, orders, payee_look_ups: payees, merchants_owned: merchants };
      },
      async erase(userId) {
        // Transactions are AML records (kept); who the user looked up to pay is not.
        await db.deleteFrom('payee_confirmations').where('payer_user_id', '=', userId).execute();
      },
    },
    {
      name: 'consents', description: 'Privacy-policy versions accepted and each consent to an optional purpose given or withdrawn.',
      async export(userId) {
        return {
          policy_acceptances: await db.selectFrom('policy_acceptances').selectAll().where('user_id', '=', userId).limit(rowsMax).execute(),
          purpose_consents: await db.selectFrom('purpose_consents').selectAll().where('user_id', '=', userId).limit(rowsMax).execute(),
        };
      },
    },
    {
      name: 'permissions', description: 'Each phone permission the phone reported granted or revoked.',
      async export(userId) {
        return { permission_records: await db.selectFrom('permission_records').selectAll().where('user_id', '=', userId).limit(rowsMax).execute() };
      },
      async erase(userId) {
        await db.deleteFrom('permission_records').where('user_id', '=', userId).execute();
      },
    },
    {
      name: 'requests', description: 'Each privacy request made, its deadline and answer, and each copy of the data asked for.',
      async export(userId) {
        return {
          privacy_requests: await db.selectFrom('privacy_requests').selectAll().where('user_id', '=', userId).limit(rowsMax).execute(),
          data_exports: await db.selectFrom('data_exports').selectAll().where('user_id', '=', userId).limit(rowsMax).execute(),
        };
      },
    },
  ];
}
