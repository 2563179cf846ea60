// The wallet app's online operations, over the platform's HTTP API: log in, register the phone
// (its P-256 public key), add a bound card as a device card (fingerprint → signed biometric
// statement, then the bank's SMS code), sync statuses and limited-use keys, report settings,
// log out. Each keeps the secure element in step with what the platform answered.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { signDeviceRequest } from '../protocols/crypto/device-request.ts';
import { lukBatchAssociatedData, openSealedForDevice, SealedMessageError, type SealedForDevice } from '../protocols/crypto/device-sealing.ts';
import type { CryptogramAlgorithm } from '../protocols/crypto/index.ts';
import { PhoneError, PlatformError } from './errors.ts';
import { dropExpiredKeys } from './payment-applet.ts';
import { findDoorCard } from './door-cards.ts';
import type { PhoneState, StoredDeviceCard, StoredLuk } from './phone-state.ts';
import { maskUid } from '../protocols/mifare/layout.ts';
import { PlatformClient, type BoundCard, type DeviceCard } from '../platform/client.ts';

/** What the wallet needs of the phone (a port the wallet owns, so it does not import phone.ts): its state and fingerprint check. */
export interface WalletPhone {
  readonly clock: () => Date;
  readonly state: Readonly<PhoneState>;
  readonly mutableState: PhoneState;
  save(): void;
  verifyFingerprint(finger: string): void;
}

/**
 * Offline stock (issue 12, README "Staying payable offline"): a phone keeps about 40 keys per card,
 * a week at 5 taps a day (35) and a margin, and asks for more when it has fewer than 20 that will
 * still be valid in 3 days (keys live 10 days on the TSP). So a phone that syncs once and then
 * stays offline for a week still pays; one that is online tops up long before it runs short.
 */
export const keysTargetDefault = 40;
export const replenishBelowDefault = 20;
/** Keys expiring within this are not counted as stock: they are replaced before they lapse. */
export const keysExpiringSoonMs = 3 * 24 * 3_600_000;
/** One batch is at most this many keys (the TSP's limit). */
const batchKeysMax = 50;

/** A bound (quick pay) card of the account, from which a device card can be made. */
export type { BoundCard } from '../platform/client.ts';

// The limited-use key batch's schema is private to platform/tokens/routes.ts, which branch i11-tsp is moving: derive it
// in src/platform/client.ts after that merge.
interface WireLukBatch { id: string; atc_first: number; key_count: number; expires_at: string; algorithm: string; sealed_keys: SealedForDevice }
/** The device-card list adds the batches the TSP still accepts (its schema extension is not exported yet: i11-tsp). */
type WireDeviceCard = DeviceCard & { live_key_batches?: string[] };

export interface SyncResult {
  /** Device cards deleted on the platform: wiped from the phone with their keys. */
  wiped: { id: string; tokenLast4: string }[];
  statusChanged: { id: string; tokenLast4: string; from: string; to: string }[];
  replenished: { id: string; tokenLast4: string; added: number }[];
  /** Keys of batches the TSP no longer accepts, wiped from the phone. */
  keysRetired: { id: string; tokenLast4: string; dropped: number }[];
  /** Per-card refusals that did not stop the sync (e.g. too many live batches). */
  problems: { id: string; tokenLast4: string; code: string; param: string | undefined; message: string }[];
}

function client(phone: WalletPhone): PlatformClient {
  return new PlatformClient(phone.state.platformUrl);
}

function session(phone: WalletPhone): string {
  const token = phone.state.session?.token;
  if (!token) throw new PhoneError('not_logged_in', 'Log in first: `npx mipay phone login`.');
  return token;
}

function deviceId(phone: WalletPhone): string {
  const id = phone.state.deviceId;
  if (!id) throw new PhoneError('not_registered', 'This phone is not registered with the platform yet: log in first.');
  return id;
}

function deviceKey(phone: WalletPhone): KeyObject {
  return createPrivateKey({ key: Buffer.from(phone.state.deviceKey.privateKeyPkcs8, 'base64'), format: 'der', type: 'pkcs8' });
}

/** Signs a request that mints limited-use keys with the device key (src/protocols/crypto/device-request.ts). */
function deviceSignature(phone: WalletPhone) {
  const key = deviceKey(phone);
  const id = deviceId(phone);
  return (request: { method: string; path: string; body: string }) => signDeviceRequest(key, { deviceId: id, ...request }, phone.clock().toISOString());
}

/**
 * Opens a batch the platform sealed to this phone's key, for this device card and batch; its keys
 * must be exactly the batch's ATC range. Anything else is refused, and nothing is stored.
 */
function lukOf(phone: WalletPhone, deviceCardId: string, batch: WireLukBatch): StoredLuk[] {
  let keys: { atc: number; key: string }[];
  try {
    const plaintext = openSealedForDevice(deviceKey(phone), batch.sealed_keys, lukBatchAssociatedData(deviceCardId, batch.id));
    keys = (JSON.parse(plaintext.toString('utf8')) as { keys: { atc: number; key: string }[] }).keys;
    plaintext.fill(0);
  } catch (error) {
    if (!(error instanceof SealedMessageError) && !(error instanceof SyntaxError)) throw error;
    throw new PhoneError('keys_unreadable', 'The platform\'s key batch does not open with this phone\'s key; sync again.');
  }
  const expected = Array.from({ length: batch.key_count }, (_, i) => batch.atc_first + i);
  if (!Array.isArray(keys) || keys.length !== expected.length || keys.some((k, i) => k?.atc !== expected[i] || !/^[0-9a-f]{32}$/i.test(k?.key))) {
    throw new PhoneError('keys_unreadable', 'The platform\'s key batch does not match its ATC range; sync again.');
  }
  return keys.map((k) => ({ atc: k.atc, key: k.key, batchId: batch.id, expiresAt: batch.expires_at }));
}

/** Logs in with the account's phone number and password (the platform's /v1/sessions); registers the phone on first login. */
export async function logIn(phone: WalletPhone, input: { accountPhone: string; password: string }): Promise<{ userId: string; deviceId: string }> {
  const answer = await client(phone).call<{ token: string; user: { id: string; phone: string } }>({
    method: 'POST', path: '/v1/sessions', body: { phone: input.accountPhone, password: input.password },
  });
  const state = phone.mutableState;
  state.session = { token: answer.token, accountPhone: answer.user.phone, userId: answer.user.id };
  phone.save();
  if (!state.deviceId) await register(phone);
  else await bindSession(phone);
  return { userId: answer.user.id, deviceId: state.deviceId! };
}

/**
 * A registered phone logged in again: its new session becomes the phone's own (signed with the
 * device key), the one whose end takes this phone's bank cards with it.
 */
async function bindSession(phone: WalletPhone): Promise<void> {
  const path = `/v1/devices/${deviceId(phone)}/session`;
  await client(phone).call({ method: 'PUT', path, token: session(phone), body: {}, deviceSignature: deviceSignature(phone) });
}

/**
 * The phone's session ended elsewhere (the user ended it from the user center, or it expired): the
 * platform deleted this phone's bank cards, and the phone wipes them now, at its first contact.
 * Transit and door cards stay.
 */
function forgetEndedSession(phone: WalletPhone): number {
  const state = phone.mutableState;
  const wiped = state.cards.length;
  for (const card of state.cards) for (const luk of card.luks) luk.key = '';
  state.cards = [];
  state.session = null;
  state.pay = { selectedCardId: null, armedUntil: null };
  state.pendingCard = null;
  phone.save();
  return wiped;
}

/** Registers this phone with its settings and public key (the private key stays in the state file). */
export async function register(phone: WalletPhone): Promise<string> {
  const { device, deviceKey, fingerprint } = phone.state;
  const made = await client(phone).call<{ id: string }>({
    method: 'POST', path: '/v1/devices', token: session(phone),
    body: {
      device_id: device.hardwareId, model: device.model, os_version: device.osVersion, nfc: device.nfc, secure_element: device.secureElement,
      fingerprint_enrolled: fingerprint.enrolledFinger !== null, find_device_on: device.findDeviceOn, public_key: deviceKey.publicKeySpki,
    },
  });
  phone.mutableState.deviceId = made.id;
  phone.save();
  return made.id;
}

/**
 * The fingerprint, then a statement "fingerprint verified" for a fresh platform nonce, signed
 * with the device key (the layout of the platform's /v1/devices/:id/biometric-verifications).
 * Answers the nonce: the proof the platform spends when this phone starts adding a card.
 */
export async function proveFingerprint(phone: WalletPhone, finger: string): Promise<{ nonce: string; verifiedAt: string }> {
  phone.verifyFingerprint(finger);
  const id = deviceId(phone);
  const token = session(phone);
  const platform = client(phone);
  const challenge = await platform.call<{ nonce: string }>({ method: 'POST', path: `/v1/devices/${id}/challenges`, token });
  const timestamp = phone.clock().toISOString();
  const message = Buffer.from(['mipay-biometric-v1', id, challenge.nonce, timestamp, 'fingerprint_verified'].join('\n'), 'utf8');
  const signature = sign('sha256', message, deviceKey(phone)).toString('base64');
  const verified = await platform.call<{ verified_at: string }>({
    method: 'POST', path: `/v1/devices/${id}/biometric-verifications`, token,
    body: { nonce: challenge.nonce, timestamp, result: 'fingerprint_verified', signature },
  });
  return { nonce: challenge.nonce, verifiedAt: verified.verified_at };
}

/** The account's bound cards (quick pay), the cards that can be added to the phone. */
export async function boundCards(phone: WalletPhone): Promise<BoundCard[]> {
  return (await client(phone).call<{ data: BoundCard[] }>({ method: 'GET', path: '/v1/cards', token: session(phone) })).data;
}

/** A bound card by its id, or by its last 4 digits when they name exactly one active card. */
async function resolveBoundCard(phone: WalletPhone, card: string): Promise<BoundCard> {
  const cards = (await boundCards(phone)).filter((c) => c.status === 'active');
  const matches = cards.filter((c) => c.id === card || (/^[0-9]{4}$/.test(card) && c.last4 === card));
  if (matches.length === 1) return matches[0]!;
  const known = cards.map((c) => `${c.id} (${c.bank_name} ${c.masked_number})`).join(', ') || 'none; bind one first';
  throw new PhoneError('card_not_found', `${matches.length > 1 ? 'Several' : 'No'} bound cards match ${card}; bound cards: ${known}.`, 'card');
}

/** Adding a card, step 1: fingerprint (signed statement), then the bank texts a code to the card's reserved phone. */
export async function applyForCard(phone: WalletPhone, input: { card: string; finger: string }): Promise<NonNullable<PhoneState['pendingCard']>> {
  const bound = await resolveBoundCard(phone, input.card);
  // The verified statement's nonce is the proof the platform spends to start adding this card.
  const proof = await proveFingerprint(phone, input.finger);
  const applied = await client(phone).call<{ verification_id: string; bank_name: string; phone_masked: string; expires_at: string }>({
    method: 'POST', path: '/v1/device-cards/applications', token: session(phone), body: { device_id: deviceId(phone), card_id: bound.id, biometric_nonce: proof.nonce },
  });
  const pending = { cardId: bound.id, verificationId: applied.verification_id, bankName: applied.bank_name, phoneMasked: applied.phone_masked, expiresAt: applied.expires_at };
  phone.mutableState.pendingCard = pending;
  phone.save();
  return pending;
}

/** Adding a card, step 2: the bank's SMS code; the device card and its first keys go into the secure element. */
export async function confirmCard(phone: WalletPhone, input: { smsCode: string }): Promise<StoredDeviceCard> {
  const pending = phone.state.pendingCard;
  if (!pending) throw new PhoneError('no_pending_card', 'No card is being added: run `npx mipay phone add-card --card <bound-card> --finger <name>` first.', 'sms_code');
  const made = await client(phone).call<{
    device_card: WireDeviceCard; token_number: string; token_expiry: string; token_sequence: string; luk_batch: WireLukBatch;
  }>({
    method: 'POST', path: '/v1/device-cards', token: session(phone), deviceSignature: deviceSignature(phone),
    body: { device_id: deviceId(phone), card_id: pending.cardId, verification_id: pending.verificationId, sms_code: input.smsCode },
  });
  if (made.device_card.status === 'deleted') throw new PhoneError('card_not_active', 'The platform answered with a deleted device card; add the card again.', 'sms_code');
  const card: StoredDeviceCard = {
    id: made.device_card.id, tokenNumber: made.token_number, expiryYymm: made.token_expiry, panSequence: made.token_sequence,
    tokenLast4: made.device_card.token_last4, bankName: made.device_card.bank_name, cardKind: made.device_card.card_kind,
    status: made.device_card.status,
    algorithm: made.luk_batch.algorithm as CryptogramAlgorithm, luks: lukOf(phone, made.device_card.id, made.luk_batch),
  };
  const state = phone.mutableState;
  state.cards = [...state.cards.filter((c) => c.id !== card.id), card];
  state.pendingCard = null;
  phone.save();
  return card;
}

/** Both steps, for callers that can get the code in between (tests, the demo). */
export async function addCard(phone: WalletPhone, input: { card: string; finger: string; smsCode: (pending: NonNullable<PhoneState['pendingCard']>) => Promise<string> }): Promise<StoredDeviceCard> {
  const pending = await applyForCard(phone, input);
  return confirmCard(phone, { smsCode: await input.smsCode(pending) });
}

/**
 * Pulls the device cards' statuses: a card deleted on the platform is wiped with its keys, a
 * suspended one is kept but cannot pay; then tops up keys of active cards running low.
 */
export async function sync(phone: WalletPhone, options: { replenishBelow?: number; replenishCount?: number } = {}): Promise<SyncResult> {
  const replenishBelow = options.replenishBelow ?? replenishBelowDefault;
  const keysTarget = Math.max(keysTargetDefault, replenishBelow);
  const token = session(phone);
  const id = deviceId(phone);
  const platform = client(phone);
  let remote: WireDeviceCard[];
  try {
    remote = (await platform.call<{ data: WireDeviceCard[] }>({ method: 'GET', path: `/v1/device-cards?device_id=${encodeURIComponent(id)}`, token })).data;
  } catch (error) {
    if (!(error instanceof PlatformError) || error.code !== 'authentication_required') throw error;
    const wiped = forgetEndedSession(phone);
    throw new PhoneError('session_ended', `This phone's session has ended (logged out elsewhere, or expired): its ${wiped} bank card(s) `
      + 'were deleted; transit and door cards stay. Log in again: `npx mipay phone login`.');
  }
  const state = phone.mutableState;
  const result: SyncResult = { wiped: [], statusChanged: [], replenished: [], keysRetired: [], problems: [] };
  const now = phone.clock();
  const kept: StoredDeviceCard[] = [];
  for (const card of state.cards) {
    const theirs = remote.find((c) => c.id === card.id);
    if (!theirs || theirs.status === 'deleted') {
      // Overwritten, not just dropped: the keys must not linger in memory longer than needed.
      for (const luk of card.luks) luk.key = '';
      result.wiped.push({ id: card.id, tokenLast4: card.tokenLast4 });
      continue;
    }
    if (theirs.status !== card.status) {
      result.statusChanged.push({ id: card.id, tokenLast4: card.tokenLast4, from: card.status, to: theirs.status });
      card.status = theirs.status;
    }
    dropExpiredKeys(card, now);
    // Keys of batches the TSP no longer accepts (retired when the phone was found after being lost, or spent) are wiped.
    // A platform that does not list them (an older version) wipes nothing.
    const live = new Set(theirs.live_key_batches);
    const retired = Array.isArray(theirs.live_key_batches) ? card.luks.filter((luk) => !live.has(luk.batchId)) : [];
    if (retired.length > 0) {
      for (const luk of retired) luk.key = '';
      card.luks = card.luks.filter((luk) => live.has(luk.batchId));
      result.keysRetired.push({ id: card.id, tokenLast4: card.tokenLast4, dropped: retired.length });
    }
    kept.push(card);
  }
  state.cards = kept;
  if (state.pay.selectedCardId && !kept.some((c) => c.id === state.pay.selectedCardId && c.status === 'active')) state.pay = { selectedCardId: null, armedUntil: null };
  phone.save();

  for (const card of kept) {
    // Keys that will still be valid in 3 days are the stock; the ones lapsing sooner are replaced before they do.
    const lastingUntil = now.getTime() + keysExpiringSoonMs;
    const lasting = card.luks.filter((luk) => Date.parse(luk.expiresAt) > lastingUntil).length;
    if (card.status !== 'active' || lasting >= replenishBelow) continue;
    const count = Math.min(batchKeysMax, Math.max(1, options.replenishCount ?? keysTarget - lasting));
    try {
      const batch = await platform.call<WireLukBatch>({
        method: 'POST', path: `/v1/device-cards/${card.id}/key-batches`, token, deviceSignature: deviceSignature(phone),
        body: { count },
      });
      const known = new Set(card.luks.map((l) => l.atc));
      const opened = lukOf(phone, card.id, batch);
      card.luks = [...card.luks, ...opened.filter((l) => !known.has(l.atc))].sort((a, b) => a.atc - b.atc);
      phone.save();
      result.replenished.push({ id: card.id, tokenLast4: card.tokenLast4, added: opened.length });
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      result.problems.push({ id: card.id, tokenLast4: card.tokenLast4, code: error.code, param: error.param, message: error.message });
    }
  }
  return result;
}

/** Reports changed settings; turning find-device off makes the platform delete the bank cards, which the sync then wipes. */
export async function updateSettings(phone: WalletPhone, input: { findDeviceOn?: boolean; osVersion?: string }): Promise<SyncResult> {
  const body = {
    ...(input.findDeviceOn !== undefined ? { find_device_on: input.findDeviceOn } : {}),
    ...(input.osVersion !== undefined ? { os_version: input.osVersion } : {}),
  };
  await client(phone).call({ method: 'PATCH', path: `/v1/devices/${deviceId(phone)}`, token: session(phone), body });
  const state = phone.mutableState;
  state.device = { ...state.device, ...(input.findDeviceOn !== undefined ? { findDeviceOn: input.findDeviceOn } : {}), ...(input.osVersion !== undefined ? { osVersion: input.osVersion } : {}) };
  phone.save();
  return sync(phone);
}

/**
 * Logs out: the platform deletes the account's bank device cards; the phone wipes them and
 * forgets the session. Door cards stay (DESIGN section 3): they are copies of the owner's own
 * access cards, not the account's, and the platform never had them.
 */
export async function logOut(phone: WalletPhone): Promise<{ wiped: number }> {
  await client(phone).call({ method: 'DELETE', path: '/v1/sessions/current', token: session(phone) });
  const state = phone.mutableState;
  const wiped = state.cards.length;
  for (const card of state.cards) for (const luk of card.luks) luk.key = '';
  state.cards = [];
  state.session = null;
  state.pay = { selectedCardId: null, armedUntil: null };
  state.pendingCard = null;
  phone.save();
  return { wiped };
}

/**
 * Backs up what the user center may show of a door card: its name, its masked UID and its type.
 * The full UID, the keys and the memory never leave the phone. The phone's own random id of the
 * card (door_…) names the backup, so backing up again after a rename updates it.
 */
export async function backUpDoorCard(phone: WalletPhone, ref: string): Promise<{ backupId: string; uidMasked: string }> {
  const card = findDoorCard(phone.state, ref);
  const uidMasked = maskUid(Buffer.from(card.uid, 'hex'));
  const made = await client(phone).call<{ id: string }>({
    method: 'POST', path: '/v1/door-cards', token: session(phone),
    body: { card_ref: card.id, name: card.name, uid_masked: uidMasked, card_type: `mifare_classic_${card.size}` },
  });
  card.backupId = made.id;
  phone.save();
  return { backupId: made.id, uidMasked };
}
