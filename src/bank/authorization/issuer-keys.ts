import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { deriveIccMasterKeyOptionA, generateKey } from '../../protocols/crypto/index.ts';
import type { AuthorizationTables } from './tables.ts';

/**
 * Which cryptogram family each sandbox bank's cards use. Most are 3DES (EMV); these issue
 * PBOC 3.0 SM4 cards, so both families run end to end.
 */
const sm4Banks = new Set(['CMB', 'SPDB', 'BOB', 'HXB', 'NXB']);
/** Cryptogram version numbers written in 9F10: 01 3DES, 04 SM4 (UnionPay CVN values). */
export const cryptogramVersionOf = { tdes: 0x01, sm4: 0x04 } as const;

export interface IssuerKeys {
  bankCode: string;
  acAlgorithm: 'tdes' | 'sm4';
  /** Issuer master key for application cryptograms. */
  imkAc: Buffer;
  /** Zone PIN key shared with the network (3DES, ISO 9564 format 0 blocks in field 52). */
  zonePinKey: Buffer;
  /** PIN verification key: the bank keeps HMAC(PVK, PAN, PIN), never the PIN. */
  pinVerificationKey: Buffer;
}

/**
 * The banks' keys: generated at random the first time a bank needs them and kept in the bank
 * schema (so they survive restarts and are the same for every process on one database), then
 * cached. Keys are never logged and never leave the bank except the card keys a sandbox
 * personalisation hands out and the zone PIN key given to the network at wiring time.
 */
export class IssuerKeyStore {
  readonly #db: Kysely<AuthorizationTables>;
  readonly #cache = new Map<string, Promise<IssuerKeys>>();

  constructor(db: Kysely<AuthorizationTables>) {
    this.#db = db;
  }

  keysFor(bankCode: string): Promise<IssuerKeys> {
    let keys = this.#cache.get(bankCode);
    if (!keys) {
      keys = this.#load(bankCode);
      this.#cache.set(bankCode, keys);
      keys.catch(() => this.#cache.delete(bankCode));
    }
    return keys;
  }

  async #load(bankCode: string): Promise<IssuerKeys> {
    const acAlgorithm = sm4Banks.has(bankCode) ? 'sm4' : 'tdes';
    await this.#db.insertInto('issuer_keys').values({
      bank_code: bankCode, ac_algorithm: acAlgorithm,
      imk_ac_hex: generateKey(acAlgorithm).toString('hex'),
      zpk_hex: generateKey('tdes').toString('hex'),
      pvk_hex: generateKey('aes', 32).toString('hex'),
      created_at: new Date(),
    }).onConflict((oc) => oc.column('bank_code').doNothing()).execute();
    const row = await this.#db.selectFrom('issuer_keys').selectAll().where('bank_code', '=', bankCode).executeTakeFirstOrThrow();
    return {
      bankCode, acAlgorithm: row.ac_algorithm, imkAc: Buffer.from(row.imk_ac_hex, 'hex'),
      zonePinKey: Buffer.from(row.zpk_hex, 'hex'), pinVerificationKey: Buffer.from(row.pvk_hex, 'hex'),
    };
  }
}

const cardKeyCacheSizeMax = 50_000;
const cardKeyCache = new Map<string, Buffer>();

/**
 * MK-AC of one card: EMV Book 2 A1.4.1 Option A from the issuer master key, PAN and PSN.
 * Recently used card keys are kept (bounded), as an HSM keeps derived keys in its cache.
 */
export function cardMasterKeyAc(keys: IssuerKeys, pan: string, panSequence: string): Buffer {
  const cacheKey = `${keys.bankCode}|${pan}|${panSequence}`;
  let key = cardKeyCache.get(cacheKey);
  if (!key) {
    key = deriveIccMasterKeyOptionA(keys.acAlgorithm, keys.imkAc, pan, panSequence);
    if (cardKeyCache.size >= cardKeyCacheSizeMax) cardKeyCache.delete(cardKeyCache.keys().next().value!);
    cardKeyCache.set(cacheKey, key);
  }
  return key;
}

/** The PIN verification value kept instead of the PIN: HMAC-SHA256 under the bank's PVK. */
export function pinVerificationValue(keys: IssuerKeys, pan: string, pin: string): string {
  return createHmac('sha256', keys.pinVerificationKey).update(`${pan}:${pin}`).digest('hex');
}

export function pinMatches(keys: IssuerKeys, pan: string, pin: string, stored: string): boolean {
  const given = Buffer.from(pinVerificationValue(keys, pan, pin), 'hex');
  const expected = Buffer.from(stored, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
