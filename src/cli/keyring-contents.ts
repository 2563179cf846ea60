import { createHmac } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { IssuerKeyStore, pinVerificationValue } from '../bank/party.ts';
import { banks, findBin } from '../bank/party.ts';
import { bankSchema } from '../bank/party.ts';
import type { Database } from '../infra/db/database.ts';
import type { KeySpec } from '../infra/keys/keyring-admin.ts';
import { kekEntryName, KeyringError, type Keyring } from '../infra/keys/keyring.ts';
import type { Logger } from '../infra/log/logger.ts';
import { platformSchema } from '../platform/party.ts';
import { personalDataKeysFrom, type PersonalDataKeys } from '../platform/payment-account/personal-data.ts';
import { BRANDS, operatorKeyNames } from '../transit/party.ts';

/**
 * Every key the system reads from the keyring, by name and length: what `mipay keys init` writes
 * for production (a read-only keyring refuses any key not in the file). A party that starts
 * reading a new key adds it here; `keyring-contents.test.ts` starts the system on an initialised
 * read-only keyring, so a key missing from this list fails that test.
 */
export function requiredKeys(): KeySpec[] {
  const perBank = banks.flatMap((bank) => {
    const prefix = `bank.${bank.code.toLowerCase()}`;
    return [
      { name: `${prefix}.imk-ac`, lengthBytes: 16 }, { name: `${prefix}.zpk`, lengthBytes: 16 },
      { name: `${prefix}.pvk`, lengthBytes: 16 }, { name: `${prefix}.cvk`, lengthBytes: 16 },
      { name: `zone.${bank.code.toLowerCase()}.mak`, lengthBytes: 16 },
    ];
  });
  return [
    { name: 'tsp.kek', kek: true }, { name: 'tsp.imk-ac', lengthBytes: 16 },
    { name: 'tsp.pan-fingerprint', lengthBytes: 32 }, { name: 'tsp.wallet-provider-key', lengthBytes: 24 },
    { name: 'platform.personal-data-kek', kek: true }, { name: 'platform.id-number-fingerprint', lengthBytes: 32 },
    { name: 'platform.otp-pepper', lengthBytes: 32 }, { name: 'bank.otp-pepper', lengthBytes: 32 },
    { name: 'network.terminal-kek', lengthBytes: 32 }, { name: 'platform.payment-ca', lengthBytes: 32 },
    { name: 'transit.api-key', lengthBytes: 24 },
    { name: 'platform.voucher-signing', lengthBytes: 32 },
    { name: 'network.pan-hash', lengthBytes: 32 }, { name: 'network.pan-seal', lengthBytes: 32 },
    { name: 'platform.staff-totp', lengthBytes: 32 },
    ...perBank,
    ...BRANDS.flatMap((brand) => Object.values(operatorKeyNames(brand.code)).map((name) => ({ name, lengthBytes: 16 }))),
  ];
}

/** The platform's keys from the keyring, as `createPlatform` takes them. */
export function platformKeysFrom(keyring: Keyring): { personalDataKeys: PersonalDataKeys; otpPepper: Buffer; staffTotpKey: Buffer } {
  return {
    personalDataKeys: personalDataKeysFrom(keyring),
    otpPepper: keyring.key('platform.otp-pepper', 32),
    staffTotpKey: keyring.key('platform.staff-totp', 32),
  };
}

/** What the sandbox kept in `platform.tsp_keys` before the keyring, and where each goes. */
const platformKeyNames: Record<string, string> = {
  'kek-1': kekEntryName('tsp.kek', 1), 'imk-ac-1': 'tsp.imk-ac', 'pan-fingerprint-1': 'tsp.pan-fingerprint',
  'pii-kek-1': kekEntryName('platform.personal-data-kek', 1), 'pii-fingerprint-1': 'platform.id-number-fingerprint',
};

/** Longest PIN tried when a PIN verification value of the old format is converted (see `convertLegacyPins`). */
const legacyPinDigitsMax = 6;

/**
 * Upgrades a database from before the keyring (DESIGN section 2): the keys its tables still
 * hold move to the keyring, then are deleted from the tables (the migration
 * 2026-11-30T0200-keys-to-keyring drops them). Only a writable (sandbox) keyring takes them; a
 * production start refuses, naming the tables, rather than run with keys beside the data.
 * Safe to run again after a crash: adopting the same key twice is a no-op.
 */
export async function moveDatabaseKeysToKeyring(database: Database, keyring: Keyring, logger: Logger): Promise<void> {
  const platformRows = await legacyRows<{ id: string; key_hex: string }>(database, platformSchema, 'tsp_keys');
  type IssuerKeysRow = { bank_code: string; imk_ac_hex: string; zpk_hex: string; pvk_hex: string };
  const bankRows = await legacyRows<IssuerKeysRow>(database, bankSchema, 'issuer_keys');
  if (platformRows.length + bankRows.length === 0) return;
  if (!keyring.writable) {
    throw new KeyringError('the database still holds keys (platform.tsp_keys, bank.issuer_keys) from before the '
      + 'keyring; a production start refuses to run with keys beside the data. Upgrade it once in sandbox mode '
      + '(a writable keyring), which moves them to the keyring and drops the tables, then copy those keys into the production keyring.');
  }
  for (const row of platformRows) {
    const name = platformKeyNames[row.id];
    if (name) keyring.adopt(name, Buffer.from(row.key_hex, 'hex'));
  }
  for (const row of bankRows) {
    const prefix = `bank.${row.bank_code.toLowerCase()}`;
    keyring.adopt(`${prefix}.imk-ac`, Buffer.from(row.imk_ac_hex, 'hex'));
    keyring.adopt(`${prefix}.zpk`, Buffer.from(row.zpk_hex, 'hex'));
  }
  const platform = database.forSchema<any>(platformSchema);
  const bank = database.forSchema<any>(bankSchema);
  // The personal-data KEK's generation 1 was called pii-kek-1 inside sealed values; now kek-1.
  for (const column of ['id_number_sealed', 'aml_id_photo_sealed', 'aml_address_sealed']) {
    const value = sql.ref(column);
    await sql`update ${sql.table(`${platformSchema}.payment_accounts`)} set ${value} = 'v1:kek-1' || substr(${value}, 13)
      where left(${value}, 13) = 'v1:pii-kek-1:'`.execute(database.root);
  }
  const converted = await convertLegacyPins(bank, new IssuerKeyStore(keyring), bankRows);
  if (converted.dropped > 0) {
    logger.warn({ dropped: converted.dropped },
      'PINs longer than 6 digits could not be converted; set them again with `mipay pos load-card --pin`');
  }
  if (platformRows.length > 0) await platform.deleteFrom('tsp_keys').execute();
  if (bankRows.length > 0) await bank.deleteFrom('issuer_keys').execute();
  logger.info({ platformKeys: platformRows.length, banks: bankRows.length, pinsConverted: converted.converted },
    'moved the database\'s keys to the keyring');
}

async function legacyRows<Row>(database: Database, schema: string, table: string): Promise<Row[]> {
  const exists = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables
    where table_schema = ${schema} and table_name = ${table}`.execute(database.root);
  if (exists.rows[0]!.n === 0) return [];
  return (await sql<Row>`select * from ${sql.table(`${schema}.${table}`)}`.execute(database.root)).rows;
}

/**
 * The old PIN verification value was HMAC-SHA256(old PVK, "PAN:PIN"); the new one is an IBM 3624
 * offset under a 3DES PVK, and one cannot be turned into the other without the PIN. The old PVK
 * is at hand during this upgrade (it was in the database), so the PIN is recovered by trying
 * every PIN of 4 to 6 digits — the lengths PIN pads ask for; about a second per card at worst —
 * and its offset stored. That keeps every sandbox card's PIN working (re-personalising would
 * break cards loaded into emulators) and leaves no old-format value behind. The old PVK is then
 * deleted, never adopted: it is exactly what let a dump test PINs. A longer PIN is not searched
 * (10^12 tries); its value is cleared and the card must be given its PIN again.
 */
async function convertLegacyPins(
  bank: Kysely<any>, keys: IssuerKeyStore, bankRows: { bank_code: string; pvk_hex: string }[],
): Promise<{ converted: number; dropped: number }> {
  const oldPvks = new Map(bankRows.map((row) => [row.bank_code, Buffer.from(row.pvk_hex, 'hex')]));
  const cards = await bank.selectFrom('card_authorization_state').select(['pan', 'pin_verification_value'])
    .where('pin_verification_value', 'is not', null).where(sql<boolean>`pin_verification_value !~ '^3624:'`).execute();
  let converted = 0;
  let dropped = 0;
  for (const card of cards as { pan: string; pin_verification_value: string }[]) {
    const issuer = findBin(card.pan);
    const oldPvk = issuer ? oldPvks.get(issuer.bank.code) : undefined;
    const pin = oldPvk ? recoverLegacyPin(oldPvk, card.pan, card.pin_verification_value) : undefined;
    const value = pin && issuer ? pinVerificationValue(await keys.keysFor(issuer.bank.code), card.pan, pin) : null;
    await bank.updateTable('card_authorization_state').set({ pin_verification_value: value })
      .where('pan', '=', card.pan).execute();
    if (value) converted++;
    else dropped++;
  }
  return { converted, dropped };
}

function recoverLegacyPin(oldPvk: Buffer, pan: string, stored: string): string | undefined {
  for (const digits of [6, 4, 5].filter((d) => d <= legacyPinDigitsMax)) {
    for (let n = 0; n < 10 ** digits; n++) {
      const pin = String(n).padStart(digits, '0');
      if (createHmac('sha256', oldPvk).update(`${pan}:${pin}`).digest('hex') === stored) return pin;
    }
  }
  return undefined;
}
