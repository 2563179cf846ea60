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
  try {
    await trx.insertInto('token_vault').values({
      device_card_id: deviceCardId,
      kek_id: keys.kekId,
      wrapped_data_key: seal(keys.kek, dataKey, `dek:${deviceCardId}`),
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
  if (row.kek_id !== keys.kekId) throw new Error(`vault row sealed under ${row.kek_id}, which is not configured`);
  const dataKey = open(keys.kek, row.wrapped_data_key, `dek:${row.device_card_id}`);
  try {
    return JSON.parse(open(dataKey, row.pan_ciphertext, `pan:${row.device_card_id}`).toString('utf8')) as VaultCardData;
  } finally {
    dataKey.fill(0);
  }
}
