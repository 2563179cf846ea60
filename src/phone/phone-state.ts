// What the phone's secure element holds (the decrypted contents of the state file). Times are
// ISO 8601 strings and keys hex, so the state is plain JSON.
import type { CryptogramAlgorithm } from '../protocols/crypto/index.ts';

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
  /** The pay flow: the card picked for the next tap and until when the fingerprint holds. */
  pay: { selectedCardId: string | null; armedUntil: string | null };
  /** Step 1 of adding a card is done: the bank texted a code; step 2 sends it. */
  pendingCard: { cardId: string; verificationId: string; bankName: string; phoneMasked: string; expiresAt: string } | null;
}
