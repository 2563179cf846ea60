/**
 * Test support: the whole system on a fresh test database (PGlite or PostgreSQL, per
 * MIPAY_TEST_DB), driven in process through `app.inject()`, with a clock the test can move
 * and every log line captured so tests can check that no secret was written.
 */
import assert from 'node:assert/strict';
import { sign, type KeyObject } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Database } from '../infra/db/database.ts';
import { openTestDatabase } from '../infra/db/test-database.ts';
import { residentIdCheckCharacter } from '../protocols/resident-id.ts';
import { signDeviceRequest } from '../protocols/crypto/device-request.ts';
import { lukBatchAssociatedData, openSealedForDevice, type SealedForDevice } from '../protocols/crypto/device-sealing.ts';
import type { App } from '../infra/http/server.ts';
import { createLogger } from '../infra/log/logger.ts';
import { deviceBody, newPhoneKeys } from '../platform/devices/test-devices.ts';
import { createSystem, type System } from './system.ts';
import { createMemoryKeyring, type Keyring } from '../infra/keys/keyring.ts';

export class TestClock {
  #ms: number;

  constructor(start: Date = new Date()) {
    this.#ms = start.getTime();
  }

  readonly now = (): Date => new Date(this.#ms);

  advance(ms: number): void {
    this.#ms += ms;
  }
}

export interface TestSystem extends System {
  database: Database;
  clock: TestClock;
  /**
   * With `bankOverHttp`: cuts and restores the platform's link to the bank. While cut, the
   * platform's calls go to a port where nothing listens and are refused, as in a network outage.
   */
  bankLink: { cut(): void; restore(): void };
  /** Every log line written so far, as raw JSON text. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * `webhookAllowLoopback` (default true: webhook receivers in tests listen on 127.0.0.1) is the
 * sandbox's explicit loopback allowance; SSRF tests turn it off.
 */
export async function startTestSystem(options: { bankOverHttp?: boolean; networkBankTimeoutMs?: number; webhookAllowLoopback?: boolean; keyring?: Keyring } = {}): Promise<TestSystem> {
  const database = await openTestDatabase();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ name: 'mipay-test', level: 'debug', destination: sink });
  const clock = new TestClock();
  let bankUrl = '';
  let linkCut = false;
  const system = await createSystem({
    database, keyring: options.keyring ?? createMemoryKeyring(), logger, clock: clock.now,
    bankTransport: options.bankOverHttp ? { kind: 'http', bankUrl: () => (linkCut ? 'http://127.0.0.1:1' : bankUrl) } : { kind: 'in-process' },
    networkBankTimeoutMs: options.networkBankTimeoutMs ?? 2_000, networkReversalIntervalMs: 200,
    webhookAllowLoopback: options.webhookAllowLoopback ?? true,
  });
  // The payment path speaks ISO 8583 over real TCP sockets, on ports the OS picks.
  await system.bankAuthorization.endpoint.listen(0);
  await system.network.server.listen(0);
  if (options.bankOverHttp) {
    bankUrl = await system.bank.app.listen({ host: '127.0.0.1', port: 0 });
  }
  await system.transit.app.listen({ host: '127.0.0.1', port: 0 });
  await system.platform.app.ready();
  await system.bank.app.ready();
  return {
    ...system, database, clock, logs,
    bankLink: {
      cut() {
        assert.ok(options.bankOverHttp, 'only a bank reached over HTTP can be cut off');
        linkCut = true;
      },
      restore() {
        linkCut = false;
      },
    },
    async close() {
      const violations = [
        ...system.platform.app.errorContract.violations, ...system.bank.app.errorContract.violations, ...system.transit.app.errorContract.violations,
      ];
      await system.platform.app.close();
      await system.bank.app.close();
      await system.transit.app.close();
      await system.network.close();
      await system.bankAuthorization.endpoint.close();
      await database.close();
      // Every refusal a test provoked must be one its route declares (docs/api.md, "adding a route").
      assert.deepEqual(violations, [], 'routes raised errors outside their declared contract');
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

/** A small JSON client over `app.inject()`. */
export function apiClient(app: App) {
  return async function call<T = any>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const response = await app.inject({
      method, url,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
    });
    const text = response.body;
    return { status: response.statusCode, body: text ? JSON.parse(text) : null, headers: response.headers };
  };
}

/** The newest 6-digit code the sandbox carrier delivered to `phone`, read through the API. */
export async function latestSmsCode(app: App, phone: string): Promise<string> {
  const response = await apiClient(app)('GET', `/v1/sandbox/sms?phone=${phone}&limit=1`);
  assert.equal(response.status, 200);
  const text: string | undefined = response.body.data[0]?.text;
  const code = text?.match(/[0-9]{6}/)?.[0];
  assert.ok(code, `no code was texted to ${phone}`);
  return code;
}

let phoneCounter = 0;
/** A phone number unique within this test process. */
export function newPhone(): string {
  phoneCounter += 1;
  return `139${String(process.pid % 10_000).padStart(4, '0')}${String(phoneCounter).padStart(4, '0')}`;
}

/** Signs up a Mi account through the API and logs it in; answers the session token. */
export async function signUpAndLogIn(system: TestSystem, phone: string = newPhone(), password = 'correct-horse-9'): Promise<{ token: string; phone: string; userId: string }> {
  const api = apiClient(system.platform.app);
  assert.equal((await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } })).status, 202);
  const code = await latestSmsCode(system.platform.app, phone);
  const created = await api('POST', '/v1/accounts', { body: { phone, sms_code: code, password, nickname: 'tester' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const session = await api('POST', '/v1/sessions', { body: { phone, password } });
  assert.equal(session.status, 201, JSON.stringify(session.body));
  return { token: session.body.token, phone, userId: created.body.id };
}

let idSequence = 0;
/** A valid resident ID number (GB 11643) for someone born on `birthDate` (YYYY-MM-DD), in Beijing's Dongcheng district. */
export function residentIdFor(birthDate: string, gender: 'male' | 'female' = 'male'): string {
  idSequence = (idSequence + 1) % 50;
  const sequence = String(idSequence * 2 + (gender === 'male' ? 1 : 0) + 100).padStart(3, '0');
  const first17 = `110101${birthDate.replaceAll('-', '')}${sequence}`;
  return first17 + residentIdCheckCharacter(first17);
}

/** Issues a sandbox bank card to a person through the bank's HTTP API; answers the card number. */
export async function issueCard(system: TestSystem, card: { bank: string; kind?: 'debit' | 'credit'; brand?: 'unionpay' | 'visa'; name: string; idNumber: string; phone: string; balanceFen?: number; expiry?: string }): Promise<string> {
  const response = await apiClient(system.bank.app)('POST', '/v1/sandbox/cards', {
    body: {
      bank_code: card.bank, kind: card.kind ?? 'debit', brand: card.brand ?? 'unionpay', holder_name: card.name, id_number: card.idNumber,
      reserved_phone: card.phone, ...(card.balanceFen !== undefined ? { balance_fen: card.balanceFen } : {}),
      ...(card.expiry ? { expiry: card.expiry } : {}),
    },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.card_number;
}

export interface AccountHolder {
  token: string;
  userId: string;
  /** The Mi account's phone. */
  phone: string;
  /** The phone reserved with the bank for the card (the account's own unless asked otherwise). */
  reservedPhone: string;
  name: string;
  idNumber: string;
  /** The card that opened the payment account (bound for quick pay as a result). */
  cardNumber: string;
  cardId: string;
}

/**
 * A Mi account with an open payment account, through the API as a user does it: sign up, a
 * sandbox card in the holder's name, the bank's SMS code, payment password 135790.
 */
export async function openPaymentAccount(system: TestSystem, options: {
  bank?: string; kind?: 'debit' | 'credit'; balanceFen?: number; name?: string; birthDate?: string; separateReservedPhone?: boolean;
} = {}): Promise<AccountHolder> {
  const api = apiClient(system.platform.app);
  const { token, phone, userId } = await signUpAndLogIn(system);
  const name = options.name ?? '吴一';
  const idNumber = residentIdFor(options.birthDate ?? '1990-01-01');
  const reservedPhone = options.separateReservedPhone ? newPhone() : phone;
  const cardNumber = await issueCard(system, {
    bank: options.bank ?? 'CMB', kind: options.kind ?? 'debit', name, idNumber, phone: reservedPhone, balanceFen: options.balanceFen ?? 1_000_000,
  });
  // The sign-up code went to this phone a moment ago; the platform sends one code a minute per phone.
  system.clock.advance(61_000);
  const applied = await api('POST', '/v1/payment-account/applications', { token, body: { name, id_number: idNumber, card_number: cardNumber, reserved_phone: reservedPhone } });
  assert.equal(applied.status, 201, JSON.stringify(applied.body));
  const code = await latestSmsCode(system.platform.app, reservedPhone);
  const opened = await api('POST', '/v1/payment-account', { token, body: { verification_id: applied.body.verification_id, sms_code: code, payment_password: '135790' } });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  const cards = await api('GET', '/v1/cards', { token });
  return { token, userId, phone, reservedPhone, name, idNumber, cardNumber, cardId: cards.body.data[0].id };
}

/** Registers an eligible phone (Mi 9, NFC, secure element, fingerprint enrolled, find-device on) on the account; answers its id. */
export async function registerDevice(system: TestSystem, sessionToken: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const keys = newPhoneKeys();
  const made = await apiClient(system.platform.app)('POST', '/v1/devices', { token: sessionToken, body: deviceBody(keys, overrides) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  deviceKeys.set(made.body.id, keys.privateKey);
  return made.body.id;
}

/** The private keys of the phones `registerDevice` registered, by device id (they stay "on the phone"). */
const deviceKeys = new Map<string, KeyObject>();

/**
 * The phone's fingerprint check as the platform sees it: a challenge, the statement signed with
 * the device key, verified. Answers the nonce, the proof that adding a card spends.
 */
export async function proveFingerprint(system: TestSystem, sessionToken: string, deviceId: string): Promise<string> {
  const api = apiClient(system.platform.app);
  const key = deviceKeys.get(deviceId);
  assert.ok(key, `device ${deviceId} was not registered by registerDevice`);
  const challenge = await api('POST', `/v1/devices/${deviceId}/challenges`, { token: sessionToken });
  assert.equal(challenge.status, 201, JSON.stringify(challenge.body));
  const timestamp = system.clock.now().toISOString();
  const message = Buffer.from(['mipay-biometric-v1', deviceId, challenge.body.nonce, timestamp, 'fingerprint_verified'].join('\n'));
  const verified = await api('POST', `/v1/devices/${deviceId}/biometric-verifications`, {
    token: sessionToken, body: { nonce: challenge.body.nonce, timestamp, result: 'fingerprint_verified', signature: sign('sha256', message, key).toString('base64') },
  });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  return challenge.body.nonce;
}

/**
 * Adds a bound card to a device as the wallet does it: a fingerprint proof, the application, then the bank's SMS
 * code (or a wrong one). Answers step 2's response, or step 1's refusal. The clock moves on
 * first so the bank's per-card SMS limits never bite.
 */
export async function provisionDeviceCard(
  system: TestSystem, holder: { token: string; reservedPhone: string }, deviceId: string, cardId: string, options: { wrongCode?: boolean } = {},
): Promise<ApiResponse> {
  const api = apiClient(system.platform.app);
  system.clock.advance(7 * 60_000);
  const nonce = await proveFingerprint(system, holder.token, deviceId);
  const applied = await api('POST', '/v1/device-cards/applications', { token: holder.token, body: { device_id: deviceId, card_id: cardId, biometric_nonce: nonce } });
  if (applied.status !== 201) return applied;
  assert.match(applied.body.phone_masked, /\*/);
  const code = await latestSmsCode(system.platform.app, holder.reservedPhone);
  const smsCode = options.wrongCode ? String((Number(code) + 1) % 1_000_000).padStart(6, '0') : code;
  const body = { device_id: deviceId, card_id: cardId, verification_id: applied.body.verification_id, sms_code: smsCode };
  const made = await deviceSignedCall(system, { token: holder.token, signer: deviceId, method: 'POST', path: '/v1/device-cards', body });
  if (made.status === 201) made.body.luk_batch.keys = openLukBatch(deviceId, made.body.device_card.id, made.body.luk_batch);
  return made;
}

/**
 * A request signed with the device key of `signer` (a device `registerDevice` made), as the phone
 * sends the requests that mint limited-use keys. `timestamp`/`nonce` may be given to replay or
 * age a signature; `headers` are added after signing.
 */
export async function deviceSignedCall(system: TestSystem, request: {
  token: string; signer: string; method: 'POST'; path: string; body: unknown; timestamp?: string; nonce?: string; headers?: Record<string, string>;
  /** Send over a real socket to this base URL (the platform listening) instead of `app.inject()`. */
  baseUrl?: string;
}): Promise<ApiResponse & { signature: string }> {
  const key = deviceKeys.get(request.signer);
  assert.ok(key, `device ${request.signer} was not registered by registerDevice`);
  const payload = JSON.stringify(request.body);
  const signature = signDeviceRequest(key, { deviceId: request.signer, method: request.method, path: request.path, body: payload },
    request.timestamp ?? system.clock.now().toISOString(), request.nonce);
  const headers = { authorization: `Bearer ${request.token}`, 'content-type': 'application/json', 'mipay-device-signature': signature, ...request.headers };
  if (request.baseUrl) {
    const response = await fetch(`${request.baseUrl}${request.path}`, { method: request.method, headers, body: payload });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: Object.fromEntries(response.headers), signature };
  }
  const response = await system.platform.app.inject({ method: request.method, url: request.path, payload, headers });
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : null, headers: response.headers, signature };
}

/** Opens a sealed limited-use key batch with the private key of `deviceId`, as that phone does. */
export function openLukBatch(deviceId: string, deviceCardId: string, batch: { id: string; sealed_keys: SealedForDevice }): { atc: number; key: string }[] {
  const key = deviceKeys.get(deviceId);
  assert.ok(key, `device ${deviceId} was not registered by registerDevice`);
  return JSON.parse(openSealedForDevice(key, batch.sealed_keys, lukBatchAssociatedData(deviceCardId, batch.id)).toString('utf8')).keys;
}

/** Replenishes a device card's keys as its phone does (signed by `deviceId`); a 201's batch gets its opened `keys`. */
export async function replenishKeys(system: TestSystem, token: string, deviceId: string, deviceCardId: string, body: { count?: number } = {}): Promise<ApiResponse> {
  const made = await deviceSignedCall(system, { token, signer: deviceId, method: 'POST', path: `/v1/device-cards/${deviceCardId}/key-batches`, body });
  if (made.status === 201) made.body.keys = openLukBatch(deviceId, deviceCardId, made.body);
  return made;
}
