/**
 * The token vault: token → PAN, kept only encrypted. Each device card's card data (PAN,
 * expiry, PAN sequence number) is sealed with AES-256-GCM under its own random data key; the
 * data key is sealed with AES-256-GCM under the KEK (envelope encryption), with the device card
 * id as additional data so a row's ciphertext cannot be moved to another row. Only
 * `detokenize` opens it; nothing else in the platform reads a PAN.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { seal as sealBytes, unseal } from '../sealing.ts';
import type { PlatformTables } from '../tables.ts';
import { panFingerprint, type TspKeys } from './keys.ts';

export interface VaultCardData {
  pan: string;
  expiryYymm: string;
  panSequence: string;
}

/** The vault's columns hold sealed values as base64. */
const seal = (key: Buffer, plaintext: Buffer, aad: string): string => sealBytes(key, plaintext, aad).toString('base64');
const open = (key: Buffer, sealed: string, aad: string): Buffer => unseal(key, Buffer.from(sealed, 'base64'), aad);

/** Seals the card data of a new device card, inside the caller's transaction. */
export async function storeInVault(trx: Kysely<PlatformTables>, keys: TspKeys, deviceCardId: string, card: VaultCardData, now: Date): Promise<void> {
  const dataKey = randomBytes(32);
  const kek = keys.keks.current();
  try {
    await trx.insertInto('token_vault').values({
      device_card_id: deviceCardId,
      kek_id: kek.id,
      wrapped_data_key: seal(kek.key, dataKey, `dek:${deviceCardId}`),
      pan_ciphertext: seal(dataKey, Buffer.from(JSON.stringify(card)), `pan:${deviceCardId}`),
      pan_fingerprint: panFingerprint(keys, card.pan),
      created_at: now,
    }).execute();
  } finally {
    dataKey.fill(0);
  }
}

/** The device card ids whose vault entry holds this PAN. */
export async function deviceCardIdsOfPan(db: Kysely<PlatformTables>, keys: TspKeys, pan: string): Promise<string[]> {
  const rows = await db.selectFrom('token_vault').select('device_card_id').where('pan_fingerprint', '=', panFingerprint(keys, pan)).limit(1000).execute();
  return rows.map((r) => r.device_card_id);
}

/** A vault row as stored: what `openVaultEntry` needs. */
export type SealedVaultEntry = Pick<PlatformTables['token_vault'], 'device_card_id' | 'kek_id' | 'wrapped_data_key' | 'pan_ciphertext'>;

/**
 * DETOKENIZE: the one function that turns a token number into the card number. For the TSP's
 * authorization path only (the network's TokenService); never for a response or a log line.
 * Answers undefined for an unknown token; the caller checks the device card's status.
 */
export async function detokenize(db: Kysely<PlatformTables>, keys: TspKeys, tokenNumber: string): Promise<(VaultCardData & { deviceCardId: string }) | undefined> {
  const row = await db.selectFrom('token_vault').innerJoin('device_cards', 'device_cards.id', 'token_vault.device_card_id')
    .select(['token_vault.device_card_id', 'token_vault.kek_id', 'token_vault.wrapped_data_key', 'token_vault.pan_ciphertext'])
    .where('device_cards.token_number', '=', tokenNumber).executeTakeFirst();
  if (!row) return undefined;
  return { ...openVaultEntry(keys, row), deviceCardId: row.device_card_id };
}

/**
 * Opens a vault row the caller has already read. For the authorization path only, which reads
 * the row together with the device card (one round trip) and opens it only once the
 * cryptogram has verified; see `detokenize`.
 */
export function openVaultEntry(keys: TspKeys, row: SealedVaultEntry): VaultCardData {
  const kek = keys.keks.byId(row.kek_id);
  if (!kek) throw new Error(`vault row sealed under ${row.kek_id}, which the keyring does not hold`);
  const dataKey = open(kek, row.wrapped_data_key, `dek:${row.device_card_id}`);
  try {
    return JSON.parse(open(dataKey, row.pan_ciphertext, `pan:${row.device_card_id}`).toString('utf8')) as VaultCardData;
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
export async function rewrapVaultBatch(db: Kysely<PlatformTables>, keys: TspKeys, batchSizeMax: number): Promise<number> {
  const kek = keys.keks.current();
  const rows = await db.selectFrom('token_vault').select(['device_card_id', 'kek_id', 'wrapped_data_key'])
    .where('kek_id', '<>', kek.id).orderBy('device_card_id').limit(batchSizeMax).execute();
  let rewrapped = 0;
  for (const row of rows) {
    const old = keys.keks.byId(row.kek_id);
    if (!old) throw new Error(`vault row sealed under ${row.kek_id}, which the keyring does not hold`);
    const dataKey = open(old, row.wrapped_data_key, `dek:${row.device_card_id}`);
    try {
      const result = await db.updateTable('token_vault')
        .set({ kek_id: kek.id, wrapped_data_key: seal(kek.key, dataKey, `dek:${row.device_card_id}`) })
        .where('device_card_id', '=', row.device_card_id).where('wrapped_data_key', '=', row.wrapped_data_key)
        .executeTakeFirst();
      rewrapped += Number(result.numUpdatedRows);
    } finally {
      dataKey.fill(0);
    }
  }
  return rewrapped;
}
