import type { Keyring } from '../../infra/keys/keyring.ts';
import {
  deriveIccMasterKeyOptionA, ibm3624Offset, ibm3624OffsetMatches, IBM_3624_DECIMALIZATION_TABLE,
} from '../../protocols/crypto/index.ts';

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
  /** PIN verification key (double-length 3DES): the bank keeps the IBM 3624 offset under it, never the PIN. */
  pinVerificationKey: Buffer;
}

/**
 * The banks' keys, from the keyring (`bank.<code>.imk-ac`, `bank.<code>.zpk`, `bank.<code>.pvk`),
 * never from the database: a copy of the bank's tables opens no card key and tests no PIN.
 * Keys are never logged and never leave the bank except the card keys a sandbox
 * personalisation hands out and the zone PIN key given to the network at wiring time.
 */
export class IssuerKeyStore {
  readonly #keyring: Pick<Keyring, 'key'>;
  readonly #cache = new Map<string, IssuerKeys>();

  constructor(keyring: Pick<Keyring, 'key'>) {
    this.#keyring = keyring;
  }

  async keysFor(bankCode: string): Promise<IssuerKeys> {
    let keys = this.#cache.get(bankCode);
    if (!keys) {
      const prefix = `bank.${bankCode.toLowerCase()}`;
      keys = {
        bankCode, acAlgorithm: sm4Banks.has(bankCode) ? 'sm4' : 'tdes',
        imkAc: this.#keyring.key(`${prefix}.imk-ac`, 16),
        zonePinKey: this.#keyring.key(`${prefix}.zpk`, 16),
        pinVerificationKey: this.#keyring.key(`${prefix}.pvk`, 16),
      };
      this.#cache.set(bankCode, keys);
    }
    return keys;
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

/**
 * The PIN verification value kept instead of the PIN: the IBM 3624 PIN offset
 * (protocols/crypto/pin-offset.ts) under the bank's PVK, with the 12 PAN digits left of the
 * check digit as validation data (padded with F) and IBM's default decimalisation table. The
 * offset has the PIN's length, so PINs of 4 to 12 digits are verified in full (a VISA PVV
 * covers only 4). Stored as `3624:<offset>`.
 */
export function pinVerificationValue(keys: IssuerKeys, pan: string, pin: string): string {
  return `${pinOffsetFormat}:${ibm3624Offset(pinOffsetParameters(keys, pan), pin)}`;
}

export function pinMatches(keys: IssuerKeys, pan: string, pin: string, stored: string): boolean {
  const [format, offset, ...rest] = stored.split(':');
  if (format !== pinOffsetFormat || !offset || rest.length > 0) return false;
  return ibm3624OffsetMatches(pinOffsetParameters(keys, pan), pin, offset);
}

const pinOffsetFormat = '3624';

function pinOffsetParameters(keys: IssuerKeys, pan: string) {
  return {
    pvk: keys.pinVerificationKey, validationData: pan.slice(-13, -1), pad: 'F',
    decimalizationTable: IBM_3624_DECIMALIZATION_TABLE,
  };
}
