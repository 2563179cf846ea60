import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, sign, webcrypto, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  apiClient, issueCard, latestSmsCode, openPaymentAccount, startTestSystem, type AccountHolder, type TestSystem,
} from '../../cli/test-system.ts';
import { x509 } from '../../infra/x509.ts';
import { deviceBody, newPhoneKeys } from '../devices/test-devices.ts';
import { assertLedgerInvariants } from '../ledger/invariants.ts';

const pngBase64 = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(32, 1)]).toString('base64');
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

describe('payment verification: fingerprint instead of the password, the certificate tier', () => {
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

  const post = (token: string, url: string, body: object, key: string = randomUUID()) => api('POST', url, { token, body, headers: { 'idempotency-key': key } });
  const miNumber = async (token: string) => (await api('GET', '/v1/account', { token })).body.mi_number as string;
  const confirm = async (token: string, phone: string) => (await api('POST', '/v1/payee-lookups', { token, body: { phone } })).body.confirmation as string;
  const smsCode = async (h: AccountHolder, purpose: string) => {
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/sms-codes', { token: h.token, body: { phone: h.phone, purpose } })).status, 202);
    return latestSmsCode(system.platform.app, h.phone);
  };

  /** A Class II holder (three banks, AML data) with ¥30,000 in the balance. */
  async function classTwoHolder(name: string): Promise<AccountHolder> {
    const h = await openPaymentAccount(system, { name, birthDate: '1990-03-03', balanceFen: 10_000_000 });
    for (const bank of ['CCB', 'BOCOM']) {
      const card = await issueCard(system, { bank, name: h.name, idNumber: h.idNumber, phone: h.phone });
      system.clock.advance(61_000);
      const started = await api('POST', '/v1/payment-account/channels/applications', { token: h.token, body: { card_number: card, reserved_phone: h.phone } });
      const code = await latestSmsCode(system.platform.app, h.phone);
      assert.equal((await api('POST', '/v1/payment-account/channels', { token: h.token, body: { verification_id: started.body.verification_id, sms_code: code } })).status, 201);
    }
    const aml = { gender: 'male', occupation: '工程师', nationality: 'CHN', id_type: 'resident_id', id_expiry: 'long_term', id_photo: { content_type: 'image/png', data_base64: pngBase64 }, address: '北京市海淀区清河中街68号' };
    assert.equal((await api('PUT', '/v1/payment-account/aml', { token: h.token, body: aml })).body.class, 'II');
    assert.equal((await post(h.token, '/v1/top-ups', { card_id: h.cardId, amount_fen: 3_000_000, payment_password: '135790' })).status, 201);
    return h;
  }

  /** The phone's side: a challenge, a fingerprint check, the statement bound to this payment signed with the device key. */
  async function fingerprint(h: AccountHolder, device: { id: string; key: KeyObject }, amountFen: number, payee: string) {
    const challenge = await api('POST', `/v1/devices/${device.id}/challenges`, { token: h.token });
    assert.equal(challenge.status, 201);
    const timestamp = system.clock.now().toISOString();
    const message = ['mipay-payment-v1', device.id, challenge.body.nonce, timestamp, 'fingerprint_verified', String(amountFen), payee].join('\n');
    return { device_id: device.id, nonce: challenge.body.nonce, timestamp, signature: sign('sha256', Buffer.from(message), device.key).toString('base64') };
  }

  test('a fingerprint statement pays once as one factor; replayed or re-bound it is refused; off again, the password remains', async () => {
    const a = await classTwoHolder('郑一');
    const b = await openPaymentAccount(system, { name: '冯二', birthDate: '1991-04-04' });
    const payee = `mi:${await miNumber(b.token)}`;
    const keys = newPhoneKeys();
    const registered = await api('POST', '/v1/devices', { token: a.token, body: deviceBody(keys) });
    const device = { id: registered.body.id as string, key: keys.privateKey };
    const transfer = async (amountFen: number, verification: object) => post(a.token, '/v1/transfers', { payee_confirmation: await confirm(a.token, b.phone), amount_fen: amountFen, ...verification });

    const off = await transfer(10_000, { fingerprint: await fingerprint(a, device, 10_000, payee) });
    assert.deepEqual([off.status, off.body.error.code], [403, 'fingerprint_payment_off']);
    const noPassword = await api('PUT', `/v1/devices/${device.id}/fingerprint-payment`, { token: a.token, body: { enabled: true } });
    assert.deepEqual([noPassword.status, noPassword.body.error.param], [400, 'payment_password']);
    const wrong = await api('PUT', `/v1/devices/${device.id}/fingerprint-payment`, { token: a.token, body: { enabled: true, payment_password: '246801' } });
    assert.equal(wrong.body.error.code, 'payment_password_wrong');
    const on = await api('PUT', `/v1/devices/${device.id}/fingerprint-payment`, { token: a.token, body: { enabled: true, payment_password: '135790' } });
    assert.deepEqual([on.status, on.body.fingerprint_payment], [200, true]);

    const statement = await fingerprint(a, device, 10_000, payee);
    const paid = await transfer(10_000, { fingerprint: statement });
    assert.equal(paid.status, 201, JSON.stringify(paid.body));
    assert.deepEqual([paid.body.authorization.method, paid.body.authorization.factors], ['fingerprint', 1]);
    const replayed = await transfer(10_000, { fingerprint: statement });
    assert.deepEqual([replayed.status, replayed.body.error.code], [422, 'biometric_challenge_invalid']);
    const reboundAmount = await transfer(10_001, { fingerprint: await fingerprint(a, device, 10_000, payee) });
    assert.deepEqual([reboundAmount.status, reboundAmount.body.error.code], [422, 'biometric_signature_invalid']);
    const reboundPayee = await transfer(10_000, { fingerprint: await fingerprint(a, device, 10_000, 'mi:1000000000') });
    assert.equal(reboundPayee.body.error.code, 'biometric_signature_invalid');

    // One factor: the ¥1,000-a-day limit of fewer than two factors binds it; an SMS code on top makes two.
    const oneFactor = await transfer(90_001, { fingerprint: await fingerprint(a, device, 90_001, payee) });
    assert.deepEqual([oneFactor.body.error.code, oneFactor.body.error.limit], ['limit_exceeded', 'daily_fewer_than_two_factors']);
    const code = await smsCode(a, 'payment');
    const twoFactors = await transfer(90_001, { fingerprint: await fingerprint(a, device, 90_001, payee), sms_code: code });
    assert.deepEqual([twoFactors.status, twoFactors.body.authorization.method, twoFactors.body.authorization.factors], [201, 'fingerprint+sms', 2]);

    const merchant = (await api('POST', '/v1/sandbox/merchants', { body: { name: '小米之家', mcc: '5732' } })).body;
    const order = (await api('POST', '/v1/merchant/orders', { token: merchant.api_key, body: { out_trade_no: 'F-1', amount_fen: 2_500, description: '充电宝' } })).body;
    const byFinger = await post(a.token, `/v1/orders/${order.id}/pay`, { fingerprint: await fingerprint(a, device, 2_500, `order:${order.id}`) });
    assert.deepEqual([byFinger.status, byFinger.body.order.status, byFinger.body.transaction.authorization.method], [201, 'paid', 'fingerprint']);

    assert.equal((await api('PUT', `/v1/devices/${device.id}/fingerprint-payment`, { token: a.token, body: { enabled: false } })).body.fingerprint_payment, false);
    const afterOff = await transfer(100, { fingerprint: await fingerprint(a, device, 100, payee) });
    assert.equal(afterOff.body.error.code, 'fingerprint_payment_off');
    const password = await transfer(100, { payment_password: '135790' });
    assert.deepEqual([password.status, password.body.authorization.method], [201, 'payment_password']);
    const nothing = await transfer(100, {});
    assert.deepEqual([nothing.status, nothing.body.error.param], [400, 'payment_password']);
  });

  test('the certificate tier: enrolled on a CSR after SMS + password, its agreed daily limit applies; refused once revoked or expired', async () => {
    const a = await classTwoHolder('陈三');
    const b = await openPaymentAccount(system, { name: '褚四', birthDate: '1992-05-05' });
    const payee = `mi:${await miNumber(b.token)}`;
    // The phone makes its key pair and a CSR; the private key stays on the phone.
    const nodeKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const csrFor = async (keys: { privateKey: KeyObject; publicKey: KeyObject }) => (await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=Mi phone', signingAlgorithm: ecdsa,
      keys: {
        privateKey: await webcrypto.subtle.importKey('pkcs8', keys.privateKey.export({ format: 'der', type: 'pkcs8' }), ecdsa, false, ['sign']),
        publicKey: await webcrypto.subtle.importKey('spki', keys.publicKey.export({ format: 'der', type: 'spki' }), ecdsa, true, ['verify']),
      },
    })).toString('pem');
    const csr = await csrFor(nodeKeys);
    const enrol = async (body: object) => api('POST', '/v1/payment-certificates', { token: a.token, body: { csr, daily_limit_fen: 1_000_000, payment_password: '135790', ...body } });

    const noCode = await enrol({ sms_code: '000000' });
    assert.equal(noCode.body.error.code, 'sms_code_not_requested');
    const garbled = await enrol({ csr: 'not a csr', sms_code: await smsCode(a, 'payment_certificate') });
    assert.deepEqual([garbled.status, garbled.body.error.code, garbled.body.error.param], [400, 'certificate_request_invalid', 'csr']);
    const overMax = await enrol({ daily_limit_fen: 20_000_001, sms_code: '000000' });
    assert.deepEqual([overMax.status, overMax.body.error.param], [400, 'daily_limit_fen']);
    const wrongPassword = await enrol({ payment_password: '246801', sms_code: await smsCode(a, 'payment_certificate') });
    assert.equal(wrongPassword.body.error.code, 'payment_password_wrong');
    const enrolled = await enrol({ sms_code: await latestSmsCode(system.platform.app, a.phone) });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    assert.deepEqual([enrolled.body.status, enrolled.body.daily_limit_fen, enrolled.body.subject.startsWith(`CN=${await miNumber(a.token)}`)], ['active', 1_000_000, true]);
    const issued = new x509.X509Certificate(enrolled.body.certificate_pem);
    const ca = new x509.X509Certificate((await api('GET', '/v1/payment-certificates/ca')).body.certificate_pem);
    assert.equal(await issued.verify({ publicKey: ca.publicKey, signatureOnly: true }), true, 'issued by the platform CA');
    assert.equal(Buffer.from(issued.publicKey.rawData).equals(nodeKeys.publicKey.export({ format: 'der', type: 'spki' })), true, 'for the phone\'s key');

    const signed = async (certificate: { id: string; serial_number: string }, key: KeyObject, amountFen: number, payeeLine = payee) => {
      const challenge = await api('POST', `/v1/payment-certificates/${certificate.id}/challenges`, { token: a.token });
      if (challenge.status !== 201) return { certificate_id: certificate.id, nonce: `refused:${challenge.body.error.code}`, timestamp: system.clock.now().toISOString(), signature: 'AA==' };
      const timestamp = system.clock.now().toISOString();
      const message = ['mipay-certificate-payment-v1', certificate.serial_number, challenge.body.nonce, timestamp, String(amountFen), payeeLine].join('\n');
      return { certificate_id: certificate.id, nonce: challenge.body.nonce, timestamp, signature: sign('sha256', Buffer.from(message), key).toString('base64') };
    };
    const transfer = async (amountFen: number, verification: object) => post(a.token, '/v1/transfers', { payee_confirmation: await confirm(a.token, b.phone), amount_fen: amountFen, ...verification });

    const alone = await transfer(600_000, { certificate: await signed(enrolled.body, nodeKeys.privateKey, 600_000) });
    assert.deepEqual([alone.status, alone.body.error.param], [400, 'payment_password'], 'a certificate needs one more factor');
    const tier = await transfer(600_000, { payment_password: '135790', certificate: await signed(enrolled.body, nodeKeys.privateKey, 600_000) });
    assert.equal(tier.status, 201, JSON.stringify(tier.body));
    assert.deepEqual([tier.body.authorization.method, tier.body.authorization.factors], ['payment_password+certificate', 2]);
    const rebound = await transfer(600_001, { payment_password: '135790', certificate: await signed(enrolled.body, nodeKeys.privateKey, 600_000) });
    assert.deepEqual([rebound.status, rebound.body.error.code], [422, 'payment_signature_invalid']);
    const replay = await signed(enrolled.body, nodeKeys.privateKey, 1_000);
    assert.equal((await transfer(1_000, { payment_password: '135790', certificate: replay })).status, 201);
    assert.equal((await transfer(1_000, { payment_password: '135790', certificate: replay })).body.error.code, 'payment_challenge_invalid');
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    assert.equal((await transfer(1_000, { payment_password: '135790', certificate: await signed(enrolled.body, otherKey, 1_000) })).body.error.code, 'payment_signature_invalid');
    const overAgreed = await transfer(399_001, { payment_password: '135790', certificate: await signed(enrolled.body, nodeKeys.privateKey, 399_001) });
    assert.deepEqual([overAgreed.body.error.code, overAgreed.body.error.limit, overAgreed.body.error.remaining_fen], ['limit_exceeded', 'daily_certificate_agreed', 399_000]);
    const withoutCertificate = await transfer(1, { payment_password: '135790', sms_code: await smsCode(a, 'payment') });
    assert.deepEqual([withoutCertificate.body.error.code, withoutCertificate.body.error.limit], ['limit_exceeded', 'daily_two_factors'], '¥5,000 without the certificate');

    const revoked = await api('POST', `/v1/payment-certificates/${enrolled.body.id}/revoke`, { token: a.token, body: { reason: 'device_lost' } });
    assert.deepEqual([revoked.status, revoked.body.status, revoked.body.revocation_reason], [200, 'revoked', 'device_lost']);
    const afterRevoke = await transfer(1_000, { payment_password: '135790', certificate: { ...replay, nonce: 'x' } });
    assert.deepEqual([afterRevoke.status, afterRevoke.body.error.code, afterRevoke.body.error.reason], [403, 'payment_certificate_revoked', 'device_lost']);

    const shortLived = await enrol({ valid_days: 1, sms_code: await smsCode(a, 'payment_certificate') });
    assert.equal(shortLived.status, 201, JSON.stringify(shortLived.body));
    system.clock.advance(86_400_000 + 1_000);
    const expired = await transfer(1_000, { payment_password: '135790', certificate: await signed(shortLived.body, nodeKeys.privateKey, 1_000) });
    assert.deepEqual([expired.status, expired.body.error.code], [403, 'payment_certificate_expired']);
    const listed = (await api('GET', '/v1/payment-certificates', { token: a.token })).body.data;
    assert.deepEqual(listed.map((c: { status: string }) => c.status), ['expired', 'revoked']);
  });
});
