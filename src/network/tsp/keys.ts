/**
 * The TSP's keys and what each device card gets from them.
 *
 * Keys (`TspKeys`): a key-encryption key (KEK, AES-256, with generations so it can be rotated)
 * that wraps the vault's per-token data keys; an issuer-style master key for application
 * cryptograms (IMK-AC, 16 bytes, 3DES); and an HMAC key for PAN fingerprints. All three come
 * from the keyring (`tsp.kek`, `tsp.imk-ac`, `tsp.pan-fingerprint`), never from the database,
 * so a copy of the database opens no vault row (DESIGN section 2).
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
import { type BinaryLike, createHmac } from 'node:crypto';
import type { KeyEncryptionKeys, Keyring } from '../../infra/keys/keyring.ts';
import { deriveCommonSessionKey, deriveIccMasterKeyOptionA, type CryptogramAlgorithm } from '../../protocols/crypto/index.ts';

export interface TspKeys {
  /** AES-256 key-encryption keys by generation; vault rows name theirs in `kek_id`. */
  keks: KeyEncryptionKeys;
  /** Master key for device cards' application cryptograms (16 bytes). */
  imkAc: Buffer;
  /** HMAC-SHA256 key of PAN fingerprints (32 bytes). */
  panFingerprintKey: Buffer;
}

/** Device cards compute their cryptograms with 3DES, as the sandbox banks' cards do. */
export const tokenCryptogramAlgorithm: CryptogramAlgorithm = 'tdes';

/** The TSP's keys from the keyring. */
export function tspKeysFrom(keyring: Pick<Keyring, 'key' | 'keks'>): TspKeys {
  return { keks: keyring.keks('tsp.kek'), imkAc: keyring.key('tsp.imk-ac', 16), panFingerprintKey: keyring.key('tsp.pan-fingerprint', 32) };
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
