import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  apiClient, deviceSignedCall, issueCard, latestSmsCode, newPhone, proveFingerprint, registerDevice, residentIdFor, signUpAndLogIn, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({ bankOverHttp: true });
});
after(() => system.close());

test('provisioning over the bank\'s HTTP partner API: ID&V on the agreement and the card data for the vault; no PAN in a log line', async () => {
  const api = apiClient(system.platform.app);
  const { token } = await signUpAndLogIn(system);
  const idNumber = residentIdFor('1990-10-10');
  const phone = newPhone();
  const name = '赵十二';
  const pan = await issueCard(system, { bank: 'BOCOM', kind: 'credit', name, idNumber, phone });
  const applied = await api('POST', '/v1/payment-account/applications', { token, body: { name, id_number: idNumber, card_number: pan, reserved_phone: phone } });
  assert.equal(applied.status, 201, JSON.stringify(applied.body));
  const opened = await api('POST', '/v1/payment-account', { token, body: { verification_id: applied.body.verification_id, sms_code: await latestSmsCode(system.platform.app, phone), payment_password: '135790' } });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  const cardId = (await api('GET', '/v1/cards', { token })).body.data[0].id;
  const deviceId = await registerDevice(system, token);

  system.clock.advance(61_000);
  const started = await api('POST', '/v1/device-cards/applications', { token, body: { device_id: deviceId, card_id: cardId, biometric_nonce: await proveFingerprint(system, token, deviceId) } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const made = await deviceSignedCall(system, {
    token, signer: deviceId, method: 'POST', path: '/v1/device-cards',
    body: { device_id: deviceId, card_id: cardId, verification_id: started.body.verification_id, sms_code: await latestSmsCode(system.platform.app, phone) },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal((await system.tsp.detokenize(made.body.token_number))?.pan, pan);
  assert.equal(system.logs.some((line) => line.includes(pan)), false);

  system.bankLink.cut();
  system.clock.advance(61_000);
  const nonce = await proveFingerprint(system, token, deviceId);
  const offline = await api('POST', '/v1/device-cards/applications', { token, body: { device_id: deviceId, card_id: cardId, biometric_nonce: nonce } });
  system.bankLink.restore();
  assert.equal(offline.body.error.code, 'bank_unavailable', 'adding a card needs the bank online');
});
