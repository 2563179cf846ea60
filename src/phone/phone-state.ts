// What the phone's secure element holds (the decrypted contents of the state file). Times are
// ISO 8601 strings and keys hex, so the state is plain JSON.
import type { CryptogramAlgorithm } from '../protocols/crypto/index.ts';
import { SecureElementError } from './secure-element.ts';

/** One limited-use key: the AC session key of one ATC, usable until its batch expires. */
export interface StoredLuk {
  atc: number;
  /** hex */
  key: string;
  batchId: string;
  expiresAt: string;
}

/** A device card as the phone keeps it: the token (never the PAN) and its unused keys. */
export interface StoredDeviceCard {
  /** The platform's device card id (dc_…). */
  id: string;
  tokenNumber: string;
  expiryYymm: string;
  /** Token sequence number, two digits. */
  panSequence: string;
  tokenLast4: string;
  bankName: string;
  cardKind: string;
  /** Only `active` cards pay; `suspended` ones wait for a resume (sync brings it). */
  status: 'inactive' | 'active' | 'suspended';
  algorithm: CryptogramAlgorithm;
  /** Unused keys, lowest ATC first. A key leaves this list before its ATC is sent to a terminal. */
  luks: StoredLuk[];
}

/** A completed e-purse transaction's proof, answered to GET TRANSACTION PROVE after a tear. */
export interface StoredTransitProve {
  /** Transaction type identifier: 02 load, 06 purchase, 09 composite purchase. */
  transactionType: number;
  /** The counter the transaction ran under (offline ATC for a purchase, online ATC for a load). */
  seq: number;
  /** hex, 4 bytes each (a load has no MAC2: zeros). */
  mac2: string;
  tac: string;
}

/**
 * A transit card (PBOC e-purse / T-Union application) as the phone's secure element keeps it.
 * The balance lives here, on the card, as on a plastic one; amounts are fen as decimal strings
 * (the state is JSON).
 */
export interface StoredTransitCard {
  /** The platform's transit card id (tc_…). */
  id: string;
  brandCode: string;
  brandName: string;
  kind: 'city' | 'tunion';
  /** hex */
  aid: string;
  algorithm: 'tdes' | 'sm4';
  cardNumber: string;
  /** The 30 bytes of file 0x15, hex. */
  issuerFile: string;
  /** SFI of the trip record the brand's metro gates write (0x17 or 0x1A). */
  tripSfi: number;
  /** The trip record, hex (16 bytes), or null before the first metro entry. */
  tripRecord: string | null;
  /** Diversified card keys (hex, 16 bytes each) and their version. */
  keys: { purchase: string; load: string; tac: string; version: number };
  balanceFen: string;
  balanceCapFen: string;
  offlineSeq: number;
  onlineSeq: number;
  /** File 0x18, newest first, hex records of 23 bytes. */
  records: string[];
  /** Proofs of the latest transactions, newest first. */
  proves: StoredTransitProve[];
  /** `disabled`: moved to another phone or returned; it answers no reader. */
  status: 'active' | 'disabled';
  /** The one card that pays with the screen off and no fingerprint. */
  express: boolean;
  /** Automatic top-up and the low-balance alert, as the user set them (fen, decimal strings). */
  autoTopUp?: { belowFen: string; amountFen: string } | null;
  lowBalanceAlertFen?: string | null;
  /**
   * The card's close proof, once the secure element closed it for a move or a return (its keys
   * are wiped then): kept until the platform has it, so a close torn by a lost connection is
   * sent again rather than lost with the balance it proves.
   */
  closeProof?: StoredCloseProof | null;
}

/** The card's statement of its balance and counters at closing, under its TAC key (src/transit/client.ts `closeProofData`). */
export interface StoredCloseProof {
  reason: 'moved' | 'returned';
  balanceFen: string;
  onlineSeq: number;
  offlineSeq: number;
  /** hex */
  challenge: string;
  /** hex */
  mac: string;
}

/**
 * A copied door card (门卡): a MIFARE Classic card's identity and memory, kept to be presented to
 * door readers. Only unencrypted cards get here (src/phone/door-cards.ts). Bytes are hex.
 */
export interface StoredDoorCard {
  /** door_… */
  id: string;
  name: string;
  uid: string;
  /** ATQA as 4 hex digits, most significant first (0004 for a 4-byte-UID 1K card). */
  atqa: string;
  sak: number;
  size: '1k' | '4k';
  /** Every block; trailers carry the keys the phone knows, zeros for one it does not. */
  blocks: string[];
  /** Per sector, the keys the phone knows (null: not known). */
  keys: { a: string | null; b: string | null }[];
  /** `read` (held to the phone) or the dump format it was imported from. */
  source: string;
  addedAt: string;
  /** Answers a door reader with the screen off (the user turns it on; bank cards never do). */
  express: boolean;
  /** The platform's id of the backup (name and masked UID only), when the user made one. */
  backupId?: string | null;
}

export interface DeviceSettings {
  /** The phone's own device id (IMEI-like), unique per phone. */
  hardwareId: string;
  model: string;
  osVersion: string;
  nfc: boolean;
  secureElement: boolean;
  findDeviceOn: boolean;
}

export interface FingerprintState {
  /** The finger enrolled on this phone (the sensor's template, modelled as a name), or null. */
  enrolledFinger: string | null;
  failedAttempts: number;
  /** Set after too many wrong fingers: the pay flow needs the device passcode first. */
  lockedAt: string | null;
  /** scrypt of the device passcode (hex), with its salt. */
  passcodeHash: string;
  passcodeSalt: string;
}

export interface PhoneState {
  platformUrl: string;
  session: { token: string; accountPhone: string; userId: string } | null;
  device: DeviceSettings;
  /** ECDSA P-256: PKCS#8 DER (base64) of the private key, which never leaves this file; SPKI DER (base64) of the public key. */
  deviceKey: { privateKeyPkcs8: string; publicKeySpki: string };
  /** The platform's id for this phone (dev_…) once registered. */
  deviceId: string | null;
  fingerprint: FingerprintState;
  cards: StoredDeviceCard[];
  /**
   * The pay flow: the card picked for the next tap and until when the fingerprint holds;
   * `refundOnly` when the user armed the phone to take back a refund (the only tap a suspended
   * card may make).
   */
  pay: { selectedCardId: string | null; armedUntil: string | null; refundOnly?: boolean };
  /** Step 1 of adding a card is done: the bank texted a code; step 2 sends it. */
  pendingCard: { cardId: string; verificationId: string; bankName: string; phoneMasked: string; expiresAt: string } | null;
  /**
   * Transit cards (optional: files written before transit cards existed have none, read as
   * empty). They survive logging out of the Mi account.
   */
  transitCards?: StoredTransitCard[];
  /**
   * Door cards: optional so that state files written before them read as "none" (no new state
   * version). They belong to the phone's owner, not to the Mi account: logout keeps them.
   */
  doorCards?: StoredDoorCard[];
  /** The door card presented when the phone is held to a door reader. */
  defaultDoorCardId?: string | null;
  /** Payment certificates whose key pair this phone made (absent in files written before they existed). */
  paymentCertificates?: StoredPaymentCertificate[];
}

/** A payment certificate the platform CA issued on this phone's CSR; its private key never leaves the state file. */
export interface StoredPaymentCertificate {
  id: string;
  serialNumber: string;
  notAfter: string;
  dailyLimitFen: number;
  /** base64 PKCS #8 DER */
  privateKeyPkcs8: string;
}

/**
 * The state file's contents, version 2: each card's keys grouped by batch — one id and expiry per
 * batch, the ATCs and keys as two arrays — instead of one object per key (version 1), which made
 * every tap's write three times larger. Version 1 files are read and written back as version 2.
 */
export const PHONE_STATE_VERSION = 2;

interface StoredLukBatch { batchId: string; expiresAt: string; atcs: number[]; keys: string[] }
type SerializedCard = Omit<StoredDeviceCard, 'luks'> & { lukBatches: StoredLukBatch[] };
type SerializedState = Omit<PhoneState, 'cards'> & { stateVersion: typeof PHONE_STATE_VERSION; cards: SerializedCard[] };

function groupByBatch(luks: readonly StoredLuk[]): StoredLukBatch[] {
  const batches: StoredLukBatch[] = [];
  let current: StoredLukBatch | undefined;
  for (const luk of luks) {
    if (!current || current.batchId !== luk.batchId || current.expiresAt !== luk.expiresAt) {
      current = { batchId: luk.batchId, expiresAt: luk.expiresAt, atcs: [], keys: [] };
      batches.push(current);
    }
    current.atcs.push(luk.atc);
    current.keys.push(luk.key);
  }
  return batches;
}

function ungroup(batches: readonly StoredLukBatch[], malformed: (what: string) => Error): StoredLuk[] {
  const luks: StoredLuk[] = [];
  for (const batch of batches) {
    if (typeof batch !== 'object' || batch === null) throw malformed('lukBatches');
    if (typeof batch.batchId !== 'string' || typeof batch.expiresAt !== 'string' || !Array.isArray(batch.atcs) || !Array.isArray(batch.keys)
      || batch.atcs.length !== batch.keys.length) throw malformed('lukBatches');
    for (let i = 0; i < batch.atcs.length; i++) {
      const atc = batch.atcs[i];
      const key = batch.keys[i];
      if (!Number.isInteger(atc) || typeof key !== 'string') throw malformed('lukBatches');
      luks.push({ atc: atc!, key, batchId: batch.batchId, expiresAt: batch.expiresAt });
    }
  }
  return luks;
}

/** The codec of the phone's state file (see secure-element.ts): version 2 out, versions 1 and 2 in. */
export const phoneStateCodec = {
  encode(state: PhoneState): SerializedState {
    return { stateVersion: PHONE_STATE_VERSION, ...state, cards: state.cards.map(({ luks, ...card }) => ({ ...card, lukBatches: groupByBatch(luks) })) };
  },
  decode(value: unknown): PhoneState {
    const malformed = (what: string) => new SecureElementError('malformed', `The phone state file's ${what} cannot be read.`);
    if (typeof value !== 'object' || value === null || !Array.isArray((value as { cards?: unknown }).cards)) throw malformed('contents');
    const version = (value as { stateVersion?: unknown }).stateVersion ?? 1;
    if (version === 1) return value as PhoneState;
    if (version !== PHONE_STATE_VERSION) {
      throw new SecureElementError('unsupported_version', `The phone state file holds version ${String(version)} contents; this mipay reads versions 1 and ${PHONE_STATE_VERSION}.`);
    }
    const { stateVersion: _, cards, ...rest } = value as SerializedState;
    return {
      ...rest,
      cards: cards.map((stored) => {
        // Found by the fuzzer (src/fuzz): a null card or batch was a TypeError, not 'malformed'.
        if (typeof stored !== 'object' || stored === null) throw malformed('cards');
        const { lukBatches, ...card } = stored;
        if (!Array.isArray(lukBatches)) throw malformed('lukBatches');
        return { ...card, luks: ungroup(lukBatches, malformed) };
      }),
    };
  },
};
