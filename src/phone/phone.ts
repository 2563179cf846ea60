// The virtual Mi phone (DESIGN section 4): the wallet app's logic over the secure element (an
// encrypted state file) and the payment applet it runs at the POS. Paying is offline — pick a
// card (there is no default card), fingerprint, armed for 60 s, tap — and never calls the
// platform; everything else (log in, add a card, sync) goes over the platform's HTTP API and is
// in wallet.ts.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { MifareClassicTag } from '../protocols/mifare/classic-card.ts';
import * as doorCards from './door-cards.ts';
import { PhoneError } from './errors.ts';
import { newFingerprintState, unlockWithPasscode, verifyFinger } from './fingerprint.ts';
import { dropExpiredKeys, PaymentApplet } from './payment-applet.ts';
import { phoneStateCodec, type DeviceSettings, type PhoneState, type StoredDeviceCard } from './phone-state.ts';
import { SecureElementFile, type ScryptParameters } from './secure-element.ts';
import * as wallet from './wallet.ts';

/** How long one fingerprint arms the phone for a tap. */
export const armedForMs = 60_000;

export interface CreatePhoneOptions {
  /** The state file (the secure element). */
  path: string;
  passphrase: string;
  platformUrl: string;
  /** The device passcode, which unlocks the fingerprint sensor after too many wrong fingers. */
  passcode: string;
  /** The finger enrolled on the sensor (null: none enrolled, the phone cannot pay). */
  enrolledFinger?: string | null;
  device?: Partial<DeviceSettings>;
  clock?: () => Date;
  /** scrypt cost of the state file (tests may lower it). */
  kdfCost?: ScryptParameters;
}

/** What the wallet shows of a device card: never the full token number. */
export interface CardSummary {
  id: string;
  bankName: string;
  cardKind: string;
  tokenLast4: string;
  status: StoredDeviceCard['status'];
  /** Unused keys whose batch has not expired: the taps this card has left offline. */
  keysLeft: number;
  keysExpireAt: string | null;
  armed: boolean;
}

export class MiPhone {
  readonly #file: SecureElementFile<PhoneState>;
  readonly clock: () => Date;

  private constructor(file: SecureElementFile<PhoneState>, clock: () => Date) {
    this.#file = file;
    this.clock = clock;
  }

  /** A new phone: its own P-256 key pair and settings, in a new state file. Not yet registered with the platform. */
  static async create(options: CreatePhoneOptions): Promise<MiPhone> {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const state: PhoneState = {
      platformUrl: options.platformUrl,
      session: null,
      device: {
        hardwareId: `imei-${randomBytes(7).toString('hex')}`, model: 'Mi 9', osVersion: '10.2.3.0', nfc: true, secureElement: true, findDeviceOn: true,
        ...options.device,
      },
      deviceKey: {
        privateKeyPkcs8: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        publicKeySpki: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      },
      deviceId: null,
      fingerprint: newFingerprintState(options.enrolledFinger === undefined ? 'right-thumb' : options.enrolledFinger, options.passcode),
      cards: [],
      pay: { selectedCardId: null, armedUntil: null },
      pendingCard: null,
    };
    const file = await SecureElementFile.create(options.path, options.passphrase, state, options.kdfCost, phoneStateCodec);
    return new MiPhone(file, options.clock ?? (() => new Date()));
  }

  /** Opens a phone from its state file (wrong passphrase or altered file: SecureElementError). */
  static async open(path: string, passphrase: string, options: { clock?: () => Date } = {}): Promise<MiPhone> {
    const file = await SecureElementFile.open<PhoneState>(path, passphrase, phoneStateCodec);
    return new MiPhone(file, options.clock ?? (() => new Date()));
  }

  get path(): string {
    return this.#file.path;
  }

  /** The live state; change it only through the phone's methods. */
  get state(): Readonly<PhoneState> {
    return this.#file.state;
  }

  /** The mutable state, for this class and the online operations of wallet.ts. */
  get mutableState(): PhoneState {
    return this.#file.state;
  }

  /** Writes the state durably (atomic replace of the state file). */
  save(): void {
    this.#file.save();
  }

  /** The NFC side: the payment applet, answering a POS reader's APDUs. */
  paymentApplet(): PaymentApplet {
    return new PaymentApplet({ state: this.#file.state, save: () => this.#file.save() }, this.clock);
  }

  /** Checks a finger on the sensor; wrong fingers count (and are kept) toward the lock. */
  verifyFingerprint(finger: string): void {
    try {
      verifyFinger(this.mutableState.fingerprint, finger, this.clock());
    } finally {
      this.save();
    }
  }

  /** The device passcode unlocks the fingerprint sensor. */
  unlockFingerprint(passcode: string): void {
    unlockWithPasscode(this.mutableState.fingerprint, passcode);
    this.save();
  }

  /**
   * The pay flow: the card picked for this payment, then the fingerprint; the phone is armed for
   * 60 s and the next tap spends one limited-use key of that card. No platform call. `refund`:
   * armed to take back a refund only — which a suspended card may still do, as a blocked plastic
   * card still takes credits.
   */
  pay(input: { deviceCardId: string; finger: string; refund?: boolean }): { card: CardSummary; armedUntil: Date } {
    const state = this.mutableState;
    const card = this.#card(input.deviceCardId);
    if (card.status === 'suspended' && !input.refund) {
      throw new PhoneError('card_not_active', `The card ending ${card.tokenLast4} is suspended and cannot pay; it can still take back a refund (arm it for a refund).`, 'deviceCardId');
    }
    if (card.status !== 'active' && card.status !== 'suspended') throw new PhoneError('card_not_active', `The card ending ${card.tokenLast4} is ${card.status} and cannot pay.`, 'deviceCardId');
    if (dropExpiredKeys(card, this.clock())) this.save();
    if (card.luks.length === 0) {
      throw new PhoneError('no_limited_use_keys', `The card ending ${card.tokenLast4} has no payment keys left: go online and sync.`, 'deviceCardId');
    }
    try {
      verifyFinger(state.fingerprint, input.finger, this.clock());
    } catch (error) {
      // A wrong finger counts toward the lock, durably.
      this.save();
      throw error;
    }
    // One write for the reset try count and the arm: the user is waiting at the till.
    const armedUntil = new Date(this.clock().getTime() + armedForMs);
    state.pay = { selectedCardId: card.id, armedUntil: armedUntil.toISOString(), ...(input.refund ? { refundOnly: true } : {}) };
    this.save();
    return { card: this.#summary(card), armedUntil };
  }

  /** Leaves the pay flow without tapping. */
  disarm(): void {
    this.mutableState.pay = { selectedCardId: null, armedUntil: null };
    this.save();
  }

  /** The wallet's device cards, as kept on the phone (no platform call). */
  cards(): CardSummary[] {
    return this.state.cards.map((card) => this.#summary(card));
  }

  // Door cards (door-cards.ts): offline, in the secure element.

  /** Reads the card held to the phone with the default keys; keeps it if it is an unencrypted MIFARE Classic card. */
  readDoorCard(tag: MifareClassicTag, name?: string) {
    return doorCards.readDoorCard(this.#doorStore(), tag, { name, now: this.clock() });
  }

  /** Imports a Proxmark3 (.bin, .eml, .json) or Flipper Zero (.nfc) dump, checked and refused as a card would be. */
  importDoorCard(file: { name: string; bytes: Buffer }, name?: string) {
    return doorCards.importDoorCard(this.#doorStore(), file, { name, now: this.clock() });
  }

  doorCards() {
    return doorCards.listDoorCards(this.state);
  }

  renameDoorCard(ref: string, name: string) {
    return doorCards.renameDoorCard(this.#doorStore(), ref, name);
  }

  deleteDoorCard(ref: string) {
    return doorCards.deleteDoorCard(this.#doorStore(), ref);
  }

  setDefaultDoorCard(ref: string) {
    return doorCards.setDefaultDoorCard(this.#doorStore(), ref);
  }

  setDoorCardExpress(ref: string, on: boolean) {
    return doorCards.setDoorCardExpress(this.#doorStore(), ref, on);
  }

  /** The phone held to a door reader: the default (or picked) door card, or silence (screen off without express). */
  doorApplet(options: { screen: 'on' | 'off'; card?: string }): MifareClassicTag | null {
    return doorCards.doorApplet(this.state, options);
  }

  // Online operations (wallet.ts): each one is an HTTP call to the platform.

  logIn(input: { accountPhone: string; password: string }) {
    return wallet.logIn(this, input);
  }

  boundCards() {
    return wallet.boundCards(this);
  }

  applyForCard(input: { card: string; finger: string }) {
    return wallet.applyForCard(this, input);
  }

  confirmCard(input: { smsCode: string }) {
    return wallet.confirmCard(this, input);
  }

  addCard(input: Parameters<typeof wallet.addCard>[1]) {
    return wallet.addCard(this, input);
  }

  sync(options: { replenishBelow?: number; replenishCount?: number } = {}) {
    return wallet.sync(this, options);
  }

  updateSettings(input: { findDeviceOn?: boolean; osVersion?: string }) {
    return wallet.updateSettings(this, input);
  }

  logOut() {
    return wallet.logOut(this);
  }

  /** Backs up a door card's name and masked UID to the platform (never its UID or memory). */
  backUpDoorCard(ref: string) {
    return wallet.backUpDoorCard(this, ref);
  }

  #doorStore(): doorCards.DoorCardStore {
    return { state: this.#file.state, save: () => this.#file.save() };
  }

  #card(deviceCardId: string): StoredDeviceCard {
    const matches = this.mutableState.cards.filter((c) => c.id === deviceCardId || (/^[0-9]{4}$/.test(deviceCardId) && c.tokenLast4 === deviceCardId));
    if (matches.length > 1) throw new PhoneError('card_not_found', `Several device cards end in ${deviceCardId}: pick one by its id (\`npx mipay phone cards\`).`, 'deviceCardId');
    if (!matches[0]) throw new PhoneError('card_not_found', `No device card ${deviceCardId} on this phone; see \`npx mipay phone cards\`.`, 'deviceCardId');
    return matches[0];
  }

  #summary(card: StoredDeviceCard): CardSummary {
    const now = this.clock().getTime();
    // Keys of a batch share one expiry: each distinct one is parsed once (the pay flow shows this at every tap).
    const expiries = new Map<string, boolean>();
    let keysLeft = 0;
    let keysExpireAt: { at: number; text: string } | null = null;
    for (const luk of card.luks) {
      let live = expiries.get(luk.expiresAt);
      if (live === undefined) {
        const at = new Date(luk.expiresAt).getTime();
        expiries.set(luk.expiresAt, live = at > now);
        if (live && (!keysExpireAt || at < keysExpireAt.at)) keysExpireAt = { at, text: luk.expiresAt };
      }
      if (live) keysLeft += 1;
    }
    const armedUntil = this.state.pay.armedUntil ? new Date(this.state.pay.armedUntil).getTime() : 0;
    return {
      id: card.id, bankName: card.bankName, cardKind: card.cardKind, tokenLast4: card.tokenLast4, status: card.status, keysLeft,
      keysExpireAt: keysExpireAt?.text ?? null,
      armed: this.state.pay.selectedCardId === card.id && armedUntil > now,
    };
  }
}
