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
 * Keys: production passes them in; the sandbox generates them on first start and keeps them in
 * the platform's key table (`tsp_keys`), like the token vault's — which is only as safe as the
 * database, fine for a sandbox and nothing else.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { seal as encrypt, unseal as decrypt } from '../sealing.ts';
import type { PlatformTables } from '../tables.ts';

export interface PersonalDataKeys {
  /** Names the KEK inside every sealed value, so a new KEK can come while old values still open. */
  kekId: string;
  /** AES-256 (32 bytes). */
  kek: Buffer;
  /** HMAC-SHA256 key of ID number fingerprints (32 bytes). */
  fingerprintKey: Buffer;
}

export type SealedField = 'id_number' | 'aml_id_photo' | 'aml_address';

const sandboxKeyIds = { kek: 'pii-kek-1', fingerprint: 'pii-fingerprint-1' } as const;
const format = 'v1';

/** The configured keys, or (sandbox) the ones generated on first start and kept in `tsp_keys`. */
export async function loadPersonalDataKeys(db: Kysely<PlatformTables>, configured: PersonalDataKeys | undefined, clock: () => Date): Promise<PersonalDataKeys> {
  if (configured) return configured;
  const ids = [sandboxKeyIds.kek, sandboxKeyIds.fingerprint];
  await db.insertInto('tsp_keys').values(ids.map((id) => ({ id, key_hex: randomBytes(32).toString('hex'), created_at: clock() })))
    .onConflict((oc) => oc.column('id').doNothing()).execute();
  const rows = await db.selectFrom('tsp_keys').selectAll().where('id', 'in', ids).execute();
  const key = (id: string) => Buffer.from(rows.find((r) => r.id === id)!.key_hex, 'hex');
  return { kekId: sandboxKeyIds.kek, kek: key(sandboxKeyIds.kek), fingerprintKey: key(sandboxKeyIds.fingerprint) };
}

export class PersonalDataVault {
  readonly #keys: PersonalDataKeys;

  constructor(keys: PersonalDataKeys) {
    this.#keys = keys;
  }

  /** `v1:<kek id>:<wrapped data key>:<iv ‖ tag ‖ ciphertext>` (base64 parts), bound to the account and the field. */
  seal(accountId: string, field: SealedField, value: Buffer): string {
    const dataKey = randomBytes(32);
    try {
      const wrapped = encrypt(this.#keys.kek, dataKey, `dek:payment_accounts:${accountId}:${field}`);
      const payload = encrypt(dataKey, value, `payment_accounts:${accountId}:${field}`);
      return [format, this.#keys.kekId, wrapped.toString('base64'), payload.toString('base64')].join(':');
    } finally {
      dataKey.fill(0);
    }
  }

  /** Opens a sealed value of this account's field; a value of another row or field, or an altered one, fails. */
  open(accountId: string, field: SealedField, sealed: string): Buffer {
    const [version, kekId, wrapped, payload, ...rest] = sealed.split(':');
    if (version !== format || !kekId || !wrapped || !payload || rest.length > 0) throw new Error(`a sealed ${field} value is malformed`);
    if (kekId !== this.#keys.kekId) throw new Error(`a sealed ${field} value is under ${kekId}, which is not configured`);
    const dataKey = decrypt(this.#keys.kek, Buffer.from(wrapped, 'base64'), `dek:payment_accounts:${accountId}:${field}`);
    try {
      return decrypt(dataKey, Buffer.from(payload, 'base64'), `payment_accounts:${accountId}:${field}`);
    } finally {
      dataKey.fill(0);
    }
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
