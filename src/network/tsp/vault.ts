/**
 * The token vault: token → PAN, kept only encrypted. Each device card's card data (PAN,
 * expiry, PAN sequence number) is sealed with AES-256-GCM under its own random data key; the
 * data key is sealed with AES-256-GCM under the KEK (envelope encryption), with the device card
 * id as additional data so a row's ciphertext cannot be moved to another row. Only
 * `detokenize` opens it; nothing else in the TSP reads a PAN, and nothing outside it can.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { TspTables } from './tables.ts';
import { panFingerprint, type TspKeys } from './keys.ts';

export interface VaultCardData {
  pan: string;
  expiryYymm: string;
  panSequence: string;
}

/** AES-256-GCM `iv ‖ tag ‖ ciphertext`, bound to `aad` (the format the platform's vault used, so moved rows open). */
function sealBytes(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

function unseal(key: Buffer, sealed: Buffer, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
}

/** The vault's columns hold sealed values as base64. */
const seal = (key: Buffer, plaintext: Buffer, aad: string): string => sealBytes(key, plaintext, aad).toString('base64');
const open = (key: Buffer, sealed: string, aad: string): Buffer => unseal(key, Buffer.from(sealed, 'base64'), aad);

/** Seals the card data of a new device card, inside the caller's transaction. */
export async function storeInVault(trx: Kysely<TspTables>, keys: TspKeys, tokenRefId: string, card: VaultCardData, now: Date): Promise<void> {
  const dataKey = randomBytes(32);
  const kek = keys.keks.current();
  try {
    await trx.insertInto('token_vault').values({
      token_ref_id: tokenRefId,
      kek_id: kek.id,
      wrapped_data_key: seal(kek.key, dataKey, `dek:${tokenRefId}`),
      pan_ciphertext: seal(dataKey, Buffer.from(JSON.stringify(card)), `pan:${tokenRefId}`),
      pan_fingerprint: panFingerprint(keys, card.pan),
      created_at: now,
    }).execute();
  } finally {
    dataKey.fill(0);
  }
}

/** The device card ids whose vault entry holds this PAN. */
export async function tokenRefIdsOfPan(db: Kysely<TspTables>, keys: TspKeys, pan: string): Promise<string[]> {
  const rows = await db.selectFrom('token_vault').select('token_ref_id').where('pan_fingerprint', '=', panFingerprint(keys, pan)).limit(1000).execute();
  return rows.map((r) => r.token_ref_id);
}

/** A vault row as stored: what `openVaultEntry` needs. */
export type SealedVaultEntry = Pick<TspTables['token_vault'], 'token_ref_id' | 'kek_id' | 'wrapped_data_key' | 'pan_ciphertext'>;

/**
 * DETOKENIZE: the one function that turns a token number into the card number. For the TSP's
 * authorization path only (the network's TokenService); never for a response or a log line.
 * Answers undefined for an unknown token; the caller checks the device card's status.
 */
export async function detokenize(db: Kysely<TspTables>, keys: TspKeys, tokenNumber: string): Promise<(VaultCardData & { tokenRefId: string }) | undefined> {
  const row = await db.selectFrom('token_vault').innerJoin('tokens', 'tokens.token_ref_id', 'token_vault.token_ref_id')
    .select(['token_vault.token_ref_id', 'token_vault.kek_id', 'token_vault.wrapped_data_key', 'token_vault.pan_ciphertext'])
    .where('tokens.token_number', '=', tokenNumber).executeTakeFirst();
  if (!row) return undefined;
  return { ...openVaultEntry(keys, row), tokenRefId: row.token_ref_id };
}

/**
 * Opens a vault row the caller has already read. For the authorization path only, which reads
 * the row together with the device card (one round trip) and opens it only once the
 * cryptogram has verified; see `detokenize`.
 */
export function openVaultEntry(keys: TspKeys, row: SealedVaultEntry): VaultCardData {
  const kek = keys.keks.byId(row.kek_id);
  if (!kek) throw new Error(`vault row sealed under ${row.kek_id}, which the keyring does not hold`);
  const dataKey = open(kek, row.wrapped_data_key, `dek:${row.token_ref_id}`);
  try {
    return JSON.parse(open(dataKey, row.pan_ciphertext, `pan:${row.token_ref_id}`).toString('utf8')) as VaultCardData;
  } finally {
    dataKey.fill(0);
  }
}

/**
 * KEK rotation: rewraps the data keys of up to `batchSizeMax` vault rows not yet under the
 * newest KEK generation; the card data itself (`pan_ciphertext`) is not touched. Each row is
 * updated only if it still holds the wrapped key that was read, so a concurrent writer wins and
 * the row is taken again by a later batch. Answers how many rows were rewrapped.
 */
export async function rewrapVaultBatch(db: Kysely<TspTables>, keys: TspKeys, batchSizeMax: number): Promise<number> {
  const kek = keys.keks.current();
  const rows = await db.selectFrom('token_vault').select(['token_ref_id', 'kek_id', 'wrapped_data_key'])
    .where('kek_id', '<>', kek.id).orderBy('token_ref_id').limit(batchSizeMax).execute();
  let rewrapped = 0;
  for (const row of rows) {
    const old = keys.keks.byId(row.kek_id);
    if (!old) throw new Error(`vault row sealed under ${row.kek_id}, which the keyring does not hold`);
    const dataKey = open(old, row.wrapped_data_key, `dek:${row.token_ref_id}`);
    try {
      const result = await db.updateTable('token_vault')
        .set({ kek_id: kek.id, wrapped_data_key: seal(kek.key, dataKey, `dek:${row.token_ref_id}`) })
        .where('token_ref_id', '=', row.token_ref_id).where('wrapped_data_key', '=', row.wrapped_data_key)
        .executeTakeFirst();
      rewrapped += Number(result.numUpdatedRows);
    } finally {
      dataKey.fill(0);
    }
  }
  return rewrapped;
}
