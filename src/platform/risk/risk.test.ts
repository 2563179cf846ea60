import assert from 'node:assert/strict';
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, startTestSystem, type AccountHolder, type TestSystem } from '../../cli/test-system.ts';
import { deviceBody, newPhoneKeys } from '../devices/test-devices.ts';
import { assertLedgerInvariants } from '../ledger/invariants.ts';

describe('risk control over HTTP: the operation log, step-up by SMS and by a signed fingerprint, deny at login', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(async () => {
    await assertLedgerInvariants(system.database.forSchema('platform'));
    await system.close();
  });

  const phoneHeaders = (deviceId: string) => ({
    'mipay-device-id': deviceId, 'mipay-device-model': 'Mi 9', 'mipay-os-version': 'MIUI 10.2.3', 'mipay-network-type': '4G',
  });
  const post = (token: string, url: string, body: object, headers: Record<string, string> = {}) =>
    api('POST', url, { token, body, headers: { 'idempotency-key': randomUUID(), ...headers } });
  const confirm = async (token: string, phone: string) => (await api('POST', '/v1/payee-lookups', { token, body: { phone } })).body.confirmation as string;
  const miNumber = async (token: string) => (await api('GET', '/v1/account', { token })).body.mi_number as string;
  const paymentCode = async (h: AccountHolder) => {
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/sms-codes', { token: h.token, body: { phone: h.phone, purpose: 'payment' } })).status, 202);
    return latestSmsCode(system.platform.app, h.phone);
  };
  const decisions = (userId: string) => system.database.forSchema<any>('platform').selectFrom('risk_decisions').selectAll()
    .where('user_id', '=', userId).orderBy('created_at').execute();

  test('a payment from a new device steps up: refused with a plain message, then passes with an SMS code or a signed fingerprint', async () => {
    const a = await openPaymentAccount(system, { name: '韩一', birthDate: '1990-05-05' });
    const b = await openPaymentAccount(system, { name: '杨二', birthDate: '1991-06-06' });
    assert.equal((await post(a.token, '/v1/top-ups', { card_id: a.cardId, amount_fen: 90_000, payment_password: '135790' })).status, 201);
    const transfer = async (amountFen: number, deviceId: string, verification: object) =>
      post(a.token, '/v1/transfers', { payee_confirmation: await confirm(a.token, b.phone), amount_fen: amountFen, ...verification }, phoneHeaders(deviceId));

    // The home phone: known from here on.
    const first = await transfer(10_000, 'phone-home', { payment_password: '135790' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    system.clock.advance(60_000);

    // Another phone, ¥300: a step-up. The message says what to do, not which rule fired.
    const refused = await transfer(30_000, 'phone-other', { payment_password: '135790' });
    assert.deepEqual([refused.status, refused.body.error.code], [403, 'risk_step_up_required']);
    assert.deepEqual(refused.body.error.step_up, ['sms_code', 'fingerprint', 'certificate']);
    assert.doesNotMatch(refused.body.error.message, /device|rule|new_device/i);
    const withSms = await transfer(30_000, 'phone-other', { payment_password: '135790', sms_code: await paymentCode(a) });
    assert.equal(withSms.status, 201, JSON.stringify(withSms.body));
    // A wrong code is not a step-up: the payment fails on the code, and no money moves.
    const wrongCode = await transfer(30_000, 'phone-third', { payment_password: '135790', sms_code: '000000' });
    assert.match(wrongCode.body.error.code, /^sms_code_/, JSON.stringify(wrongCode.body));

    // A registered phone with fingerprint payment on: its signed statement is the step-up.
    const keys = newPhoneKeys();
    const registered = await api('POST', '/v1/devices', { token: a.token, body: deviceBody(keys) });
    assert.equal(registered.status, 201);
    const device = { id: registered.body.id as string, key: keys.privateKey };
    const on = await api('PUT', `/v1/devices/${device.id}/fingerprint-payment`, { token: a.token, body: { enabled: true, payment_password: '135790' } });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const payee = `mi:${await miNumber(b.token)}`;
    const newPhoneOnly = await transfer(25_000, device.id, { payment_password: '135790' });
    assert.equal(newPhoneOnly.body.error.code, 'risk_step_up_required');
    const statement = await fingerprint(a, device, 25_000, payee);
    const withFingerprint = await transfer(25_000, device.id, { payment_password: '135790', fingerprint: statement });
    assert.equal(withFingerprint.status, 201, JSON.stringify(withFingerprint.body));
    assert.equal(withFingerprint.body.authorization.factors, 2);
    assert.equal((await api('GET', '/v1/balance', { token: b.token })).body.available_fen, 10_000 + 30_000 + 25_000);

    // Decisions are stored with the rules that fired and what was done.
    await system.platform.risk.flush();
    const stored = (await decisions(a.userId)).filter((d) => d.operation === 'transfer');
    const levels = stored.map((d) => `${d.level}/${d.enforced}`);
    assert.deepEqual(levels, ['allow/allowed', 'step_up/refused', 'step_up/stepped_up', 'step_up/stepped_up', 'step_up/refused', 'step_up/stepped_up']);
    assert.ok(JSON.parse(stored[1]!.fired).some((f: { id: string }) => f.id === 'new_device_payment'));
    assert.equal(stored[1]!.rule_set_version, system.platform.risk.ruleSet.version);
  });

  test('the user reads their operation log: device, network type, IP and operation; refusals are marked', async () => {
    const a = await openPaymentAccount(system, { name: '周一', birthDate: '1990-07-07' });
    const wrong = await post(a.token, '/v1/top-ups', { card_id: a.cardId, amount_fen: 500, payment_password: '000000' }, phoneHeaders('phone-z'));
    assert.equal(wrong.body.error.code, 'payment_password_wrong');
    assert.equal((await post(a.token, '/v1/top-ups', { card_id: a.cardId, amount_fen: 500, payment_password: '135790' }, phoneHeaders('phone-z'))).status, 201);
    const log = await api('GET', '/v1/risk/operations', { token: a.token });
    assert.equal(log.status, 200);
    const [latest, earlier] = log.body.data as any[];
    assert.deepEqual([latest.operation, latest.outcome, latest.amount_fen], ['top_up', 'succeeded', 500]);
    assert.deepEqual(latest.device, { id: 'phone-z', model: 'Mi 9', os_version: 'MIUI 10.2.3' });
    assert.equal(latest.network_type, '4g');
    assert.equal(latest.ip, '127.0.0.1');
    // Loopback has no region in the IP database.
    assert.deepEqual(latest.region, { country: null, province: null, city: null });
    assert.equal(earlier.outcome, 'failed_password');
    // Another user's log is not theirs to read.
    const other = await openPaymentAccount(system, { name: '吴二', birthDate: '1992-07-07' });
    const otherLog = await api('GET', '/v1/risk/operations', { token: other.token });
    assert.ok(otherLog.body.data.every((o: { id: string }) => !log.body.data.some((m: { id: string }) => m.id === o.id)));
  });

  test('a rule set is data: a new version takes effect at once and decisions name it; logins are denied past a guessing streak', async () => {
    const a = await openPaymentAccount(system, { name: '钱一', birthDate: '1990-08-08' });
    const before = system.platform.risk.ruleSet;
    const version = await system.platform.risk.publishRuleSet([
      ...before.rules, { id: 'login_guessing_strict', kind: 'failed_password_streak', operations: ['login'], windowMs: 3_600_000, failuresMin: 3, level: 'deny' },
    ], 'stricter login guessing for this test', 'test');
    assert.equal(version, before.version + 1);
    try {
      for (let i = 0; i < 3; i++) {
        const wrong = await api('POST', '/v1/sessions', { body: { phone: a.phone, password: 'wrong-horse-1' } });
        assert.equal(wrong.body.error.code, 'login_failed');
      }
      const denied = await api('POST', '/v1/sessions', { body: { phone: a.phone, password: 'correct-horse-9' } });
      assert.deepEqual([denied.status, denied.body.error.code], [403, 'risk_denied']);
      await system.platform.risk.flush();
      const last = (await decisions(a.userId)).at(-1)!;
      assert.deepEqual([last.operation, last.level, last.rule_set_version], ['login', 'deny', version]);
    } finally {
      await system.platform.risk.publishRuleSet(before.rules, 'back to the previous rules', 'test');
    }
  });

  /** The phone's side: a challenge, a fingerprint check, the statement bound to this payment signed with the device key. */
  async function fingerprint(h: AccountHolder, device: { id: string; key: KeyObject }, amountFen: number, payee: string) {
    const challenge = await api('POST', `/v1/devices/${device.id}/challenges`, { token: h.token });
    assert.equal(challenge.status, 201);
    const timestamp = system.clock.now().toISOString();
    const message = ['mipay-payment-v1', device.id, challenge.body.nonce, timestamp, 'fingerprint_verified', String(amountFen), payee].join('\n');
    return { device_id: device.id, nonce: challenge.body.nonce, timestamp, signature: sign('sha256', Buffer.from(message), device.key).toString('base64') };
  }
});
