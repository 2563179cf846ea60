import { createPublicKey, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { parseDeviceSignature, verifyDeviceRequest } from '../../protocols/crypto/device-request.ts';
import { newId } from '../../infra/ids.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';
import { biometricStatementMessage, describeBinding, parseDevicePublicKey, verifyDeviceSignature, type BiometricResult, type PaymentBinding } from './device-key.ts';
import { requireEligibleDevice } from './eligibility.ts';
import type { SignedHttpRequest } from './signed-request.ts';

export type Device = PlatformTables['devices'];

/** Registered devices per account: a household's phones, with room for replacements. */
export const devicesPerUserMax = 20;
export const challengeLifetimeMs = 2 * 60_000;
/** A signed statement whose timestamp is further than this from the platform's clock is refused. */
export const statementClockSkewMaxMs = 5 * 60_000;
/** A verified fingerprint proves the holder is at the phone for this long (then ask again). */
export const biometricProofLifetimeMs = 5 * 60_000;

/** Why device cards change with their device, and who asked. */
export interface DeviceCardChange {
  reason: 'device_lost' | 'device_found' | 'device_deleted' | 'find_device_off' | 'account_logout';
  actor: 'user';
}

/**
 * What the devices domain asks of the device cards on a device (the tokens domain implements
 * it). Each runs inside the caller's transaction, so a device and its cards change together.
 */
export interface DeviceCardsOnDevice {
  /** Suspends every live device card on the device (bank and, later, transit cards). */
  suspendAll(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange): Promise<number>;
  /**
   * Deletes device cards on the device: `all`, or `bank_only`, which keeps transit cards
   * (they survive logout and find-device off, DESIGN section 3).
   */
  deleteAll(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange, scope: 'all' | 'bank_only'): Promise<number>;
  /**
   * The device was found: the cards its loss suspended are resumed (others, suspended by their
   * bank or the user, stay as they are), and every limited-use key it held is retired, since
   * the phone was out of its owner's hands; it pays again once it has synced new keys.
   */
  resumeAfterFound(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange): Promise<number>;
  /** Once the caller's transaction committed: the changes leave for the TSP (src/network/tsp). */
  afterCommit?(): Promise<void>;
}

export interface RegisterDeviceInput {
  userId: string; hardwareId: string; model: string; osVersion: string; nfc: boolean; secureElement: boolean;
  fingerprintEnrolled: boolean; findDeviceOn: boolean; publicKey: string;
  /** The session registering the phone: the phone's own, whose end deletes its bank cards. */
  sessionId?: string | undefined;
}

/** Phones registered to Mi accounts: eligibility, the phone's signing key, lost and deleted phones. */
export class DeviceService {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;
  #cards: DeviceCardsOnDevice | undefined;

  constructor(db: Kysely<PlatformTables>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Set once at wiring: the tokens domain depends on devices, so it is attached after both exist. */
  attachDeviceCards(cards: DeviceCardsOnDevice): void {
    this.#cards = cards;
  }

  get #deviceCards(): DeviceCardsOnDevice {
    if (!this.#cards) throw new Error('DeviceService used before attachDeviceCards()');
    return this.#cards;
  }

  async register(input: RegisterDeviceInput): Promise<Device> {
    const model = requireEligibleDevice(input);
    const publicKey = parseDevicePublicKey(input.publicKey);
    const count = await this.#db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', input.userId).where('status', '<>', 'deleted').executeTakeFirstOrThrow();
    if (Number(count.n) >= devicesPerUserMax) throw errors.devices_per_user_limit(`At most ${devicesPerUserMax} devices; delete one first.`, 'device_id');
    const device: Device = {
      id: newId('dev'), user_id: input.userId, hardware_id: input.hardwareId, model, os_version: input.osVersion, nfc: input.nfc,
      secure_element: input.secureElement, fingerprint_enrolled: input.fingerprintEnrolled, find_device_on: input.findDeviceOn,
      public_key: publicKey, status: 'active', registered_at: this.#clock(), disabled_at: null, deleted_at: null,
      fingerprint_payment_enabled_at: null, session_id: input.sessionId ?? null,
    };
    try {
      await this.#db.insertInto('devices').values(device).execute();
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error;
      throw errors.device_already_registered('This phone is already registered; delete it from the account that has it first.', 'device_id');
    }
    return device;
  }

  async list(userId: string): Promise<Device[]> {
    return this.#db.selectFrom('devices').selectAll().where('user_id', '=', userId).where('status', '<>', 'deleted')
      .orderBy('registered_at', 'desc').orderBy('id', 'desc').limit(devicesPerUserMax).execute();
  }

  /** A device of this user that is not deleted (a disabled one is still listed, for the user center). */
  /** `param` is the request field that named the device (a payment names it as `fingerprint.device_id`). */
  async get(userId: string, deviceId: string, param = 'device_id'): Promise<Device> {
    const device = await this.#db.selectFrom('devices').selectAll().where('id', '=', deviceId).where('user_id', '=', userId)
      .where('status', '<>', 'deleted').executeTakeFirst();
    if (!device) throw errors.not_found('No device with this id on this account.', param);
    return device;
  }

  /** A device that may take and use device cards: active, fingerprint enrolled, find-device on. */
  async requireReadyToPay(userId: string, deviceId: string): Promise<Device> {
    const device = await this.get(userId, deviceId);
    if (device.status !== 'active') throw errors.device_not_active('This device was disabled as lost; it cannot take device cards.', 'device_id');
    if (!device.fingerprint_enrolled) throw errors.device_not_ready('Enroll a fingerprint on the phone first.', 'fingerprint_enrolled');
    if (!device.find_device_on) throw errors.device_not_ready('Turn on find-device on the phone first.', 'find_device_on');
    return device;
  }

  /**
   * The phone reports a change of its settings. Turning find-device off deletes its bank device
   * cards (transit cards stay), as the phone could no longer be found and wiped if lost.
   */
  async updateSettings(userId: string, deviceId: string, input: { fingerprintEnrolled?: boolean | undefined; findDeviceOn?: boolean | undefined; osVersion?: string | undefined }): Promise<Device> {
    const device = await this.get(userId, deviceId);
    if (device.status !== 'active') throw errors.device_not_active('This device was disabled as lost.', 'device_id');
    if (input.osVersion !== undefined) requireEligibleDevice({ model: device.model, osVersion: input.osVersion, nfc: device.nfc, secureElement: device.secure_element });
    const changes = {
      ...(input.fingerprintEnrolled !== undefined ? { fingerprint_enrolled: input.fingerprintEnrolled } : {}),
      ...(input.findDeviceOn !== undefined ? { find_device_on: input.findDeviceOn } : {}),
      ...(input.osVersion !== undefined ? { os_version: input.osVersion } : {}),
    };
    if (Object.keys(changes).length === 0) return device;
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('devices').set(changes).where('id', '=', device.id).execute();
      if (device.find_device_on && input.findDeviceOn === false) {
        await this.#deviceCards.deleteAll(trx, device.id, { reason: 'find_device_off', actor: 'user' }, 'bank_only');
      }
    });
    await this.#deviceCards.afterCommit?.();
    return { ...device, ...changes };
  }

  /** Reported lost from the user center: the device is disabled and all its device cards suspended at once. */
  async disable(userId: string, deviceId: string): Promise<Device> {
    const device = await this.get(userId, deviceId);
    if (device.status === 'disabled') return device;
    const now = this.#clock();
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('devices').set({ status: 'disabled', disabled_at: now }).where('id', '=', device.id).execute();
      await this.#deviceCards.suspendAll(trx, device.id, { reason: 'device_lost', actor: 'user' });
    });
    await this.#deviceCards.afterCommit?.();
    return { ...device, status: 'disabled', disabled_at: now };
  }

  /**
   * Found again (the account password was confirmed by the caller): the device is active again,
   * the device cards its loss suspended resume, and the keys it held are retired (see
   * DeviceCardsOnDevice.resumeAfterFound).
   */
  async enable(userId: string, deviceId: string): Promise<Device> {
    const device = await this.get(userId, deviceId);
    if (device.status !== 'disabled') throw errors.device_not_disabled('This device is not disabled as lost.', 'id', { status: device.status });
    await this.#db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('devices').set({ status: 'active', disabled_at: null }).where('id', '=', device.id).where('status', '=', 'disabled').executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw errors.device_not_disabled('This device is not disabled as lost.', 'id');
      await this.#deviceCards.resumeAfterFound(trx, device.id, { reason: 'device_found', actor: 'user' });
    });
    await this.#deviceCards.afterCommit?.();
    return { ...device, status: 'active', disabled_at: null };
  }

  /** Deleted on request (a lost or sold phone): every device card on it is deleted too. */
  async delete(userId: string, deviceId: string): Promise<Device> {
    const device = await this.get(userId, deviceId);
    const now = this.#clock();
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('devices').set({ status: 'deleted', deleted_at: now }).where('id', '=', device.id).execute();
      await this.#deviceCards.deleteAll(trx, device.id, { reason: 'device_deleted', actor: 'user' }, 'all');
    });
    await this.#deviceCards.afterCommit?.();
    return { ...device, status: 'deleted', deleted_at: now };
  }

  /**
   * A session ends (its logout, or ended from another session): the phones whose own session it
   * was lose their bank device cards (transit cards stay); any other session (a browser, an API
   * client) takes no card with it.
   */
  async onLogout(userId: string, sessionId: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const phones = await trx.selectFrom('devices').select('id').where('user_id', '=', userId).where('session_id', '=', sessionId)
        .forUpdate().execute();
      for (const phone of phones) {
        await this.#deviceCards.deleteAll(trx, phone.id, { reason: 'account_logout', actor: 'user' }, 'bank_only');
        await trx.updateTable('devices').set({ session_id: null }).where('id', '=', phone.id).execute();
      }
    });
  }

  /**
   * Every bank device card on every device of the user is deleted (deregistration of the payment
   * service, issue 16); transit and door cards stay on the phones.
   */
  async deleteAllBankDeviceCards(userId: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const devices = await trx.selectFrom('devices').select('id').where('user_id', '=', userId).forUpdate().execute();
      for (const device of devices) await this.#deviceCards.deleteAll(trx, device.id, { reason: 'account_logout', actor: 'user' }, 'bank_only');
    });
    await this.#deviceCards.afterCommit?.();
  }

  /**
   * The phone logged in again: its new session becomes its own (the request is signed with its
   * device key, so no other client can make its session the phone's).
   */
  async bindSession(userId: string, deviceId: string, sessionId: string, signed: SignedHttpRequest): Promise<Device> {
    const device = await this.get(userId, deviceId, 'id');
    if (device.status !== 'active') throw errors.device_not_active('This device was disabled as lost.', 'id');
    await this.verifySignedRequest(device, signed);
    await this.#db.updateTable('devices').set({ session_id: sessionId }).where('id', '=', device.id).execute();
    return { ...device, session_id: sessionId };
  }

  /**
   * Phones whose own session expired lose their bank device cards as if logged out (run by a
   * periodic job; the phone wipes them at its next contact). Answers how many phones.
   */
  async endExpiredPhoneSessions(limit = 500): Promise<number> {
    const now = this.#clock();
    const expired = await this.#db.selectFrom('devices').innerJoin('sessions', 'sessions.id', 'devices.session_id')
      .select(['devices.user_id', 'devices.session_id']).where('sessions.expires_at', '<=', now).where('sessions.revoked_at', 'is', null)
      .limit(limit).execute();
    for (const phone of expired) await this.onLogout(phone.user_id, phone.session_id!);
    return expired.length;
  }

  /**
   * Checks a request signed with the device key of `device` (src/protocols/crypto/device-request.ts):
   * a well-formed header, a timestamp within 5 minutes of now, a signature over this method, path,
   * body and nonce under this device's registered key, and a nonce never seen before — which is
   * then kept until the timestamp could no longer be accepted. Any refusal changes nothing.
   */
  async verifySignedRequest(device: Device, request: SignedHttpRequest): Promise<void> {
    const signed = parseDeviceSignature(request.signatureHeader);
    if (!signed) {
      throw errors.device_signature_required('Sign this request with the device key: Mipay-Device-Signature: t=<time>,n=<nonce>,s=<signature>.', 'mipay-device-signature');
    }
    const now = this.#clock();
    const stated = new Date(signed.timestamp);
    if (Number.isNaN(stated.getTime()) || Math.abs(stated.getTime() - now.getTime()) > statementClockSkewMaxMs) {
      throw errors.device_signature_invalid('The signature\'s timestamp is not within 5 minutes of the platform\'s clock.', 'mipay-device-signature');
    }
    const publicKey = createPublicKey({ key: Buffer.from(device.public_key, 'base64'), format: 'der', type: 'spki' });
    const message = { deviceId: device.id, method: request.method, path: request.path, body: request.body };
    if (!verifyDeviceRequest(publicKey, message, signed)) {
      throw errors.device_signature_invalid('The signature does not verify under the key of the device that owns this device card.', 'mipay-device-signature');
    }
    // Expired nonces of this device go first, so the table holds only the last few minutes' requests.
    await this.#db.deleteFrom('device_request_nonces').where('device_id', '=', device.id).where('expires_at', '<', now).execute();
    const expiresAt = new Date(Math.max(stated.getTime(), now.getTime()) + statementClockSkewMaxMs);
    const kept = await this.#db.insertInto('device_request_nonces').values({ device_id: device.id, nonce: signed.nonce, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['device_id', 'nonce']).doNothing()).returning('nonce').executeTakeFirst();
    if (!kept) {
      throw errors.device_signature_replayed('This signed request was already used; sign each request with a fresh nonce.', 'mipay-device-signature');
    }
  }

  /** A single-use nonce for the phone to sign with a biometric result. */
  async createChallenge(userId: string, deviceId: string): Promise<{ nonce: string; expiresAt: Date }> {
    const device = await this.get(userId, deviceId);
    if (device.status !== 'active') throw errors.device_not_active('This device was disabled as lost.', 'device_id');
    const now = this.#clock();
    const challenge = {
      nonce: randomBytes(16).toString('base64url'), device_id: device.id, expires_at: new Date(now.getTime() + challengeLifetimeMs), used_at: null, created_at: now,
      verified_at: null, spent_at: null, spent_for: null, payment_binding: null,
    };
    await this.#db.insertInto('device_challenges').values(challenge).execute();
    return { nonce: challenge.nonce, expiresAt: challenge.expires_at };
  }

  /**
   * Checks a statement the phone signed with its device key: "fingerprint verified" for this
   * device and this nonce, at a timestamp near now. The nonce is used up whatever the outcome
   * of the signature check, so a statement cannot be tried twice.
   */
  async verifyBiometric(userId: string, deviceId: string, statement: { nonce: string; timestamp: string; result: BiometricResult; signature: string }): Promise<{ verifiedAt: Date }> {
    const device = await this.get(userId, deviceId);
    const now = await this.#checkStatement(device, statement, undefined);
    await this.#db.updateTable('device_challenges').set({ verified_at: now }).where('nonce', '=', statement.nonce).execute();
    return { verifiedAt: now };
  }

  /**
   * A fingerprint as a payment verification factor: the phone signed "fingerprint verified"
   * bound to this payment (amount and payee or order) with a fresh nonce of this device. The
   * same checks as `verifyBiometric`; the nonce is spent at once, so a statement pays once, and a
   * statement bound to another amount or payee does not verify. The device must have
   * fingerprint payment turned on.
   */
  async verifyPaymentStatement(userId: string, statement: { deviceId: string; nonce: string; timestamp: string; signature: string }, payment: PaymentBinding): Promise<Device> {
    const device = await this.get(userId, statement.deviceId, 'fingerprint.device_id');
    if (!device.fingerprint_payment_enabled_at) {
      throw errors.fingerprint_payment_off(
        'Fingerprint payment is not turned on for this device; pay with the payment password or turn it on.', 'fingerprint.device_id');
    }
    // A phone that reported its fingerprint removed has no sensor result to sign.
    if (!device.fingerprint_enrolled) throw errors.device_not_ready('Enroll a fingerprint on the phone first.', 'fingerprint.device_id');
    const now = await this.#checkStatement(device, { ...statement, result: 'fingerprint_verified' }, payment, 'fingerprint.');
    await this.#db.updateTable('device_challenges').set({ verified_at: now, spent_at: now, spent_for: 'payment', payment_binding: describeBinding(payment) })
      .where('nonce', '=', statement.nonce).execute();
    return device;
  }

  /** Turns fingerprint payment on (the caller checked the payment password) or off for a ready device. */
  async setFingerprintPayment(userId: string, deviceId: string, enabled: boolean): Promise<Device> {
    const device = enabled ? await this.requireReadyToPay(userId, deviceId) : await this.get(userId, deviceId);
    const at = enabled ? (device.fingerprint_payment_enabled_at ?? this.#clock()) : null;
    await this.#db.updateTable('devices').set({ fingerprint_payment_enabled_at: at }).where('id', '=', device.id).execute();
    return { ...device, fingerprint_payment_enabled_at: at };
  }

  /**
   * The checks every signed statement passes: active device, live unused nonce (used up now), fresh timestamp, signature.
   * `at` prefixes the params of refusals: the request object holding the statement (`fingerprint.` in a payment).
   */
  async #checkStatement(device: Device, statement: { nonce: string; timestamp: string; result: BiometricResult; signature: string },
    payment: PaymentBinding | undefined, at = ''): Promise<Date> {
    if (device.status !== 'active') throw errors.device_not_active('This device was disabled as lost.', `${at}device_id`);
    const now = this.#clock();
    const stated = new Date(statement.timestamp);
    if (Number.isNaN(stated.getTime())) throw errors.parameter_invalid('The timestamp is not an ISO 8601 time.', `${at}timestamp`);
    const used = await this.#db.updateTable('device_challenges').set({ used_at: now })
      .where('nonce', '=', statement.nonce).where('device_id', '=', device.id).where('used_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    if (used.numUpdatedRows === 0n) throw errors.biometric_challenge_invalid('The challenge is unknown, already used or expired; ask for a new one.', `${at}nonce`);
    if (Math.abs(stated.getTime() - now.getTime()) > statementClockSkewMaxMs) {
      throw errors.biometric_statement_stale('The statement\'s timestamp is too far from now.', `${at}timestamp`);
    }
    const message = biometricStatementMessage({ deviceId: device.id, nonce: statement.nonce, timestamp: statement.timestamp, result: statement.result, payment });
    if (!verifyDeviceSignature(device.public_key, message, statement.signature)) {
      throw errors.biometric_signature_invalid('The signature does not verify under this device\'s key.', `${at}signature`);
    }
    return now;
  }

  /**
   * Spends a fingerprint proof: the nonce of a challenge of this device whose signed statement
   * verified in the last 5 minutes and that no other operation spent. Adding a card to a phone
   * needs one, so a stolen session alone cannot put a card on a phone.
   */
  async spendBiometricProof(userId: string, deviceId: string, nonce: string, purpose: string): Promise<void> {
    const device = await this.get(userId, deviceId);
    const now = this.#clock();
    const spent = await this.#db.updateTable('device_challenges').set({ spent_at: now, spent_for: purpose })
      .where('nonce', '=', nonce).where('device_id', '=', device.id).where('spent_at', 'is', null)
      .where('verified_at', '>', new Date(now.getTime() - biometricProofLifetimeMs))
      .executeTakeFirst();
    if (spent.numUpdatedRows === 0n) {
      throw errors.biometric_verification_required(
        'Verify the fingerprint on this phone first (a challenge, then the signed statement), at most 5 minutes before; each verification adds one card.',
        'biometric_nonce',
      );
    }
  }
}
