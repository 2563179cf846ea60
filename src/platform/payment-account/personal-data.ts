/**
 * The payment account holder's most sensitive personal data — the resident ID number, the photo
 * of the ID document and the address (PIPL Art. 28: sensitive personal information) — is kept
 * only sealed: AES-256-GCM under a fresh data key per value, the data key wrapped under the
 * personal-data KEK, and the row, column and account bound in as additional data so a sealed
 * value cannot be moved to another row or column. The AML rules want these kept for years
 * (the AML law, Art. 34), so they are encrypted rather than dropped.
 *
 * What the platform needs without opening them: uniqueness of an ID number across accounts (an
 * HMAC fingerprint under its own key, unique), the masked form for display, and the birth date
 * (a column of its own, for the age and class rules). The ID number is opened only to send it to
 * a bank that verifies a card, and to check the gender the AML data gives.
 *
 * Keys come from the keyring (`platform.personal-data-kek` with its generations,
 * `platform.id-number-fingerprint`), never from the database: a copy of the database opens no
 * sealed value.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { KeyEncryptionKeys, Keyring } from '../../infra/keys/keyring.ts';
import { seal as encrypt, unseal as decrypt } from '../sealing.ts';
import type { PlatformTables } from '../tables.ts';

export interface PersonalDataKeys {
  /** AES-256 KEKs by generation; every sealed value names its generation. */
  keks: KeyEncryptionKeys;
  /** HMAC-SHA256 key of ID number fingerprints (32 bytes). */
  fingerprintKey: Buffer;
}

export type SealedField = 'id_number' | 'aml_id_photo' | 'aml_address';

const format = 'v1';

/** The personal-data keys from the keyring. */
export function personalDataKeysFrom(keyring: Pick<Keyring, 'key' | 'keks'>): PersonalDataKeys {
  return {
    keks: keyring.keks('platform.personal-data-kek'),
    fingerprintKey: keyring.key('platform.id-number-fingerprint', 32),
  };
}

export class PersonalDataVault {
  readonly #keys: PersonalDataKeys;

  constructor(keys: PersonalDataKeys) {
    this.#keys = keys;
  }

  /** `v1:<kek id>:<wrapped data key>:<iv ‖ tag ‖ ciphertext>` (base64 parts), bound to the account and the field. */
  seal(accountId: string, field: SealedField, value: Buffer): string {
    const dataKey = randomBytes(32);
    const kek = this.#keys.keks.current();
    try {
      const wrapped = encrypt(kek.key, dataKey, `dek:payment_accounts:${accountId}:${field}`);
      const payload = encrypt(dataKey, value, `payment_accounts:${accountId}:${field}`);
      return [format, kek.id, wrapped.toString('base64'), payload.toString('base64')].join(':');
    } finally {
      dataKey.fill(0);
    }
  }

  /** Opens a sealed value of this account's field; a value of another row or field, or an altered one, fails. */
  open(accountId: string, field: SealedField, sealed: string): Buffer {
    const { payload } = this.#parse(field, sealed);
    const dataKey = this.#unwrap(accountId, field, sealed);
    try {
      return decrypt(dataKey, Buffer.from(payload, 'base64'), `payment_accounts:${accountId}:${field}`);
    } finally {
      dataKey.fill(0);
    }
  }

  /** KEK rotation: the same sealed value with its data key rewrapped under the newest KEK; the payload is unchanged. */
  rewrap(accountId: string, field: SealedField, sealed: string): string {
    const { payload } = this.#parse(field, sealed);
    const dataKey = this.#unwrap(accountId, field, sealed);
    const kek = this.#keys.keks.current();
    try {
      const wrapped = encrypt(kek.key, dataKey, `dek:payment_accounts:${accountId}:${field}`);
      return [format, kek.id, wrapped.toString('base64'), payload].join(':');
    } finally {
      dataKey.fill(0);
    }
  }

  /** The id of the KEK generation new values are sealed under. */
  currentKekId(): string {
    return this.#keys.keks.current().id;
  }

  #unwrap(accountId: string, field: SealedField, sealed: string): Buffer {
    const { kekId, wrapped } = this.#parse(field, sealed);
    const kek = this.#keys.keks.byId(kekId);
    if (!kek) throw new Error(`a sealed ${field} value is under ${kekId}, which the keyring does not hold`);
    return decrypt(kek, Buffer.from(wrapped, 'base64'), `dek:payment_accounts:${accountId}:${field}`);
  }

  #parse(field: SealedField, sealed: string): { kekId: string; wrapped: string; payload: string } {
    const [version, kekId, wrapped, payload, ...rest] = sealed.split(':');
    if (version !== format || !kekId || !wrapped || !payload || rest.length > 0) {
      throw new Error(`a sealed ${field} value is malformed`);
    }
    return { kekId, wrapped, payload };
  }

  /** HMAC-SHA256 of the normalised ID number: finds an account by ID number without opening any. */
  idNumberFingerprint(idNumber: string): string {
    return createHmac('sha256', this.#keys.fingerprintKey).update(idNumber.trim().toUpperCase()).digest('hex');
  }

  /** Whether `idNumber` is the one behind `fingerprint` (compared in constant time). */
  matchesIdNumber(fingerprint: string, idNumber: string): boolean {
    const given = Buffer.from(this.idNumberFingerprint(idNumber), 'hex');
    const stored = Buffer.from(fingerprint, 'hex');
    return given.length === stored.length && timingSafeEqual(given, stored);
  }
}

/**
 * KEK rotation: rewraps the data keys of up to `batchSizeMax` payment accounts that still have a
 * sealed value under an older KEK generation. Each row is updated only if its sealed columns are
 * still the ones read, so a concurrent change wins and the row is taken by a later batch.
 * Answers how many rows were rewrapped.
 */
export async function rewrapPersonalDataBatch(
  db: Kysely<PlatformTables>, vault: PersonalDataVault, batchSizeMax: number,
): Promise<number> {
  const prefix = `${format}:${vault.currentKekId()}:`;
  const notCurrent = (column: 'id_number_sealed' | 'aml_id_photo_sealed' | 'aml_address_sealed') =>
    sql<boolean>`(${sql.ref(column)} is not null and left(${sql.ref(column)}, ${prefix.length}) <> ${prefix})`;
  const rows = await db.selectFrom('payment_accounts')
    .select(['id', 'id_number_sealed', 'aml_id_photo_sealed', 'aml_address_sealed'])
    .where(sql<boolean>`${notCurrent('id_number_sealed')} or ${notCurrent('aml_id_photo_sealed')}
      or ${notCurrent('aml_address_sealed')}`)
    .orderBy('id').limit(batchSizeMax).execute();
  let rewrapped = 0;
  for (const row of rows) {
    const again = (field: SealedField, value: string | null) =>
      (value === null ? null : vault.rewrap(row.id, field, value));
    const result = await db.updateTable('payment_accounts').set({
      id_number_sealed: again('id_number', row.id_number_sealed)!,
      aml_id_photo_sealed: again('aml_id_photo', row.aml_id_photo_sealed),
      aml_address_sealed: again('aml_address', row.aml_address_sealed),
    }).where('id', '=', row.id)
      .where(sql<boolean>`id_number_sealed is not distinct from ${row.id_number_sealed}`)
      .where(sql<boolean>`aml_id_photo_sealed is not distinct from ${row.aml_id_photo_sealed}`)
      .where(sql<boolean>`aml_address_sealed is not distinct from ${row.aml_address_sealed}`)
      .executeTakeFirst();
    rewrapped += Number(result.numUpdatedRows);
  }
  return rewrapped;
}
