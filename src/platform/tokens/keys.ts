/**
 * The TSP's keys and what each device card gets from them.
 *
 * Keys (`TspKeys`): a key-encryption key (KEK, AES-256) that wraps the vault's per-token data
 * keys; an issuer-style master key for application cryptograms (IMK-AC, 16 bytes, 3DES); and an
 * HMAC key for PAN fingerprints. Production passes them from configuration (an HSM in real
 * life). When none are configured — the sandbox — they are generated once and kept in the
 * platform's `tsp_keys` table so a restarted `mipay up` can still open its vault; that is only
 * as safe as the database, which is fine for a sandbox and nothing else.
 *
 * Per device card:
 *   MK-AC  = EMV Option A (Book 2 A1.4.1) of IMK-AC over the token number and token sequence
 *            number (PSN '00' for now) — the token's own card master key, never stored.
 *   LUK(n) = EMV common session key (Book 2 A1.3.1) of MK-AC at ATC n — a limited-use key.
 *
 * A LUK batch is an ATC range [atc_first, atc_first + key_count) with an expiry. The phone
 * receives the keys of a batch once, in the answer that issues it (provisioning or
 * replenishment), and keeps them in its secure element; the platform stores only the range and
 * expiry (`luk_batches`), never the keys. The phone spends one LUK per tap: it uses LUK(ATC) as
 * the session key for the ARQC (EMV cryptogram over CDOL data, `src/protocols/crypto/cryptogram.ts`)
 * and sends that ATC in 9F36.
 *
 * To verify an ARQC (the network's TokenService, authorization.ts): look up the device card by token
 * number; refuse unless it is active; find a `live` batch of it with atc_first ≤ ATC <
 * atc_first + key_count and expires_at > now (refuse otherwise, and refuse an ATC already seen);
 * derive MK-AC = tokenMasterKey(keys, token, sequence, algorithm), then SK = limitedUseKey(MK-AC,
 * ATC, algorithm), and check the ARQC with `verifyApplicationCryptogram`. `detokenize` in
 * vault.ts gives the PAN, its expiry and PSN for the request forwarded to the issuer.
 */
import { randomBytes, type BinaryLike, createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import { deriveCommonSessionKey, deriveIccMasterKeyOptionA, type CryptogramAlgorithm } from '../../protocols/crypto/index.ts';
import type { PlatformTables } from '../tables.ts';

export interface TspKeys {
  /** Names the KEK in vault rows, so a new KEK can be introduced while old rows still open. */
  kekId: string;
  /** AES-256 key-encryption key (32 bytes). */
  kek: Buffer;
  /** Master key for device cards' application cryptograms (16 bytes). */
  imkAc: Buffer;
  /** HMAC-SHA256 key of PAN fingerprints (32 bytes). */
  panFingerprintKey: Buffer;
}

/** Device cards compute their cryptograms with 3DES, as the sandbox banks' cards do. */
export const tokenCryptogramAlgorithm: CryptogramAlgorithm = 'tdes';

const sandboxKeyLengths = { 'kek-1': 32, 'imk-ac-1': 16, 'pan-fingerprint-1': 32 } as const;

/** The configured keys, or (sandbox) the ones generated on first start and kept in `tsp_keys`. */
export async function loadTspKeys(db: Kysely<PlatformTables>, configured: TspKeys | undefined, clock: () => Date): Promise<TspKeys> {
  if (configured) return configured;
  const ids = Object.keys(sandboxKeyLengths) as (keyof typeof sandboxKeyLengths)[];
  await db.insertInto('tsp_keys')
    .values(ids.map((id) => ({ id, key_hex: randomBytes(sandboxKeyLengths[id]).toString('hex'), created_at: clock() })))
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const rows = await db.selectFrom('tsp_keys').selectAll().where('id', 'in', ids).execute();
  const key = (id: keyof typeof sandboxKeyLengths) => Buffer.from(rows.find((r) => r.id === id)!.key_hex, 'hex');
  return { kekId: 'kek-1', kek: key('kek-1'), imkAc: key('imk-ac-1'), panFingerprintKey: key('pan-fingerprint-1') };
}

/** The token's own card master key: EMV Book 2 A1.4.1 Option A over the token number and its sequence number. */
export function tokenMasterKey(keys: TspKeys, tokenNumber: string, tokenSequence: string, algorithm: CryptogramAlgorithm = tokenCryptogramAlgorithm): Buffer {
  return deriveIccMasterKeyOptionA(algorithm, keys.imkAc, tokenNumber, tokenSequence);
}

/** The limited-use key for one ATC: EMV Book 2 A1.3.1 common session key of the token master key. */
export function limitedUseKey(tokenMasterKeyAc: Buffer, atc: number, algorithm: CryptogramAlgorithm = tokenCryptogramAlgorithm): Buffer {
  const atcBytes = Buffer.alloc(2);
  atcBytes.writeUInt16BE(atc);
  return deriveCommonSessionKey(algorithm, tokenMasterKeyAc, atcBytes);
}

/** HMAC-SHA256 of the PAN: finds a card's tokens without decrypting the vault. */
export function panFingerprint(keys: TspKeys, pan: BinaryLike): string {
  return createHmac('sha256', keys.panFingerprintKey).update(pan).digest('hex');
}
