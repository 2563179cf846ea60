// The phone paying people and merchants online, against a real in-process system over real HTTP:
// the masked-name look-up, fingerprint payment, and a payment certificate whose key the phone made.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { PhoneError, PlatformError } from './errors.ts';
import * as payments from './payments.ts';
import { MiPhone } from './phone.ts';

const cheap = { n: 2 ** 10, r: 8, p: 1 };

describe('the phone pays: a payee confirmed by masked name, fingerprint instead of the password, a certificate made on the phone', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  let platformUrl: string;
  let dir: string;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
    platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'mipay-payments-'));
  });
  after(async () => {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('look up by phone, confirm *三, pay with the fingerprint; a certificate enrolled from the phone signs a payment; revoked, it is refused', async () => {
    const payer = await openPaymentAccount(system, { name: '蒋一', birthDate: '1990-01-01' });
    const payee = await openPaymentAccount(system, { name: '张三', birthDate: '1991-02-02' });
    assert.equal((await api('POST', '/v1/top-ups', { token: payer.token, body: { card_id: payer.cardId, amount_fen: 80_000, payment_password: '135790' }, headers: { 'idempotency-key': 'phone-top-up-1' } })).status, 201);
    const phone = await MiPhone.create({
      path: join(dir, 'phone.se'), passphrase: 'phone passphrase', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb', clock: system.clock.now, kdfCost: cheap,
    });
    await phone.logIn({ accountPhone: payer.phone, password: 'correct-horse-9' });

    const found = await payments.lookUpPayee(phone, payee.phone);
    assert.equal(found.name, '*三');
    await assert.rejects(payments.transfer(phone, { payee: found, amountFen: 1_000, finger: 'right-thumb' }), (e) => e instanceof PlatformError && e.code === 'fingerprint_payment_off');
    assert.equal(await payments.setFingerprintPayment(phone, { enabled: true, paymentPassword: '135790' }), true);
    await assert.rejects(payments.transfer(phone, { payee: await payments.lookUpPayee(phone, found.miNumber), amountFen: 1_000, finger: 'left-index' }),
      (e) => e instanceof PhoneError && e.code === 'fingerprint_not_recognized', 'a wrong finger never reaches the platform');
    const paid = await payments.transfer(phone, { payee: await payments.lookUpPayee(phone, found.miNumber), amountFen: 1_000, finger: 'right-thumb' });
    assert.deepEqual([paid.status, paid.payee.name, paid.authorization.method, paid.authorization.factors], ['succeeded', '*三', 'fingerprint', 1]);

    system.clock.advance(61_000);
    await payments.requestSmsCode(phone, 'payment_certificate');
    const held = await payments.enrolCertificate(phone, { dailyLimitFen: 200_000, paymentPassword: '135790', smsCode: await latestSmsCode(system.platform.app, payer.phone) });
    assert.equal(phone.state.paymentCertificates?.length, 1);
    const signed = await payments.transfer(phone, { payee: await payments.lookUpPayee(phone, found.miNumber), amountFen: 2_000, finger: 'right-thumb', certificate: true });
    assert.deepEqual([signed.authorization.method, signed.authorization.factors], ['fingerprint+certificate', 2]);
    assert.deepEqual((await payments.listCertificates(phone)).map((c) => c.status), ['active']);
    await payments.revokeCertificate(phone, held.id, 'device_lost');
    assert.equal(phone.state.paymentCertificates?.length, 0, 'the key is wiped from the phone');
    await assert.rejects(payments.transfer(phone, { payee: await payments.lookUpPayee(phone, found.miNumber), amountFen: 2_000, finger: 'right-thumb', certificate: true }),
      (e) => e instanceof PhoneError && e.code === 'no_certificate');
    assert.equal((await api('GET', '/v1/balance', { token: payee.token })).body.available_fen, 3_000);
  });
});
