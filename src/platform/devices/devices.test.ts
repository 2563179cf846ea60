import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { biometricStatementMessage } from './device-key.ts';
import { deviceBody, newPhoneKeys } from './test-devices.ts';
import { compareVersionParts, parseMiuiVersion, isMiuiVersionEligible } from './eligibility.ts';

describe('MIUI versions', () => {
  test('compare numerically, stable and developer apart', () => {
    assert.equal(compareVersionParts([10, 0, 0, 0], [8, 0, 6, 0]), 1);
    assert.equal(compareVersionParts([8, 0, 10, 0], [8, 0, 6, 0]), 1, '8.0.10.0 is newer than 8.0.6.0 (a string compare says otherwise)');
    assert.equal(isMiuiVersionEligible(parseMiuiVersion('8.0.6.0')!), true);
    assert.equal(isMiuiVersionEligible(parseMiuiVersion('V8.0.5.9.NCACNEB')!), false);
    assert.equal(isMiuiVersionEligible(parseMiuiVersion('6.8.23')!), true);
    assert.equal(isMiuiVersionEligible(parseMiuiVersion('6.8.9')!), false);
    assert.equal(isMiuiVersionEligible(parseMiuiVersion('7.1.2')!), true);
    assert.equal(parseMiuiVersion('Android 9'), undefined);
  });
});

describe('devices', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  test('register a phone, list it, one registration per phone; a PEM key is accepted too', async () => {
    const { token } = await signUpAndLogIn(system);
    const keys = newPhoneKeys();
    const made = await api('POST', '/v1/devices', { token, body: deviceBody(keys, { model: 'MI MIX 2S' }) });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.match(made.body.id, /^dev_/);
    assert.deepEqual([made.body.model, made.body.status, made.body.device_id], ['Mi MIX 2s', 'active', keys.hardwareId]);
    const listed = await api('GET', '/v1/devices', { token });
    assert.deepEqual(listed.body.data.map((d: { id: string }) => d.id), [made.body.id]);
    const again = await api('POST', '/v1/devices', { token, body: deviceBody(keys) });
    assert.deepEqual([again.status, again.body.error.code], [409, 'device_already_registered']);

    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const withPem = await api('POST', '/v1/devices', { token, body: deviceBody({ ...newPhoneKeys(), publicKey: pem }) });
    assert.equal(withPem.status, 201, JSON.stringify(withPem.body));
  });

  test('ineligible phones are refused, naming the field, and nothing is registered', async () => {
    const { token } = await signUpAndLogIn(system);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ model: 'Redmi Note 4' }, 'device_not_eligible', 'model'],
      [{ os_version: '8.0.5.0' }, 'device_not_eligible', 'os_version'],
      [{ os_version: '6.8.22' }, 'device_not_eligible', 'os_version'],
      [{ os_version: 'Android 9' }, 'parameter_invalid', 'os_version'],
      [{ nfc: false }, 'device_not_eligible', 'nfc'],
      [{ secure_element: false }, 'device_not_eligible', 'secure_element'],
      [{ public_key: 'bm90IGEga2V5' }, 'device_public_key_invalid', 'public_key'],
      [{ public_key: generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }, 'device_public_key_invalid', 'public_key'],
    ];
    for (const [override, code, param] of cases) {
      const refused = await api('POST', '/v1/devices', { token, body: deviceBody(newPhoneKeys(), override) });
      assert.deepEqual([refused.status >= 400, refused.body.error.code, refused.body.error.param], [true, code, param], JSON.stringify(override));
    }
    assert.equal((await api('GET', '/v1/devices', { token })).body.data.length, 0);
    const oldDev = await api('POST', '/v1/devices', { token, body: deviceBody(newPhoneKeys(), { os_version: '9.3.21', model: 'Mi Note 3' }) });
    assert.equal(oldDev.status, 201, 'a developer build newer than 6.8.23 is fine');
  });

  test('a signed, timestamped, nonce-bound "fingerprint verified" statement verifies once; forgeries and replays do not', async () => {
    const { token } = await signUpAndLogIn(system);
    const keys = newPhoneKeys();
    const device = (await api('POST', '/v1/devices', { token, body: deviceBody(keys) })).body;
    const signed = (nonce: string, timestamp: string, key = keys.privateKey) => ({
      nonce, timestamp, result: 'fingerprint_verified',
      signature: sign('sha256', biometricStatementMessage({ deviceId: device.id, nonce, timestamp, result: 'fingerprint_verified' }), key).toString('base64'),
    });
    const challenge = await api('POST', `/v1/devices/${device.id}/challenges`, { token });
    assert.equal(challenge.status, 201);
    const now = system.clock.now().toISOString();
    const ok = await api('POST', `/v1/devices/${device.id}/biometric-verifications`, { token, body: signed(challenge.body.nonce, now) });
    assert.deepEqual([ok.status, ok.body.verified], [200, true], JSON.stringify(ok.body));
    const replay = await api('POST', `/v1/devices/${device.id}/biometric-verifications`, { token, body: signed(challenge.body.nonce, now) });
    assert.equal(replay.body.error.code, 'biometric_challenge_invalid');

    const other = newPhoneKeys();
    const c2 = (await api('POST', `/v1/devices/${device.id}/challenges`, { token })).body;
    const forged = await api('POST', `/v1/devices/${device.id}/biometric-verifications`, { token, body: signed(c2.nonce, now, other.privateKey) });
    assert.deepEqual([forged.body.error.code, forged.body.error.param], ['biometric_signature_invalid', 'signature']);

    const c3 = (await api('POST', `/v1/devices/${device.id}/challenges`, { token })).body;
    const stale = await api('POST', `/v1/devices/${device.id}/biometric-verifications`, { token, body: signed(c3.nonce, new Date(system.clock.now().getTime() - 10 * 60_000).toISOString()) });
    assert.equal(stale.body.error.code, 'biometric_statement_stale');

    const c4 = (await api('POST', `/v1/devices/${device.id}/challenges`, { token })).body;
    system.clock.advance(3 * 60_000);
    const expired = await api('POST', `/v1/devices/${device.id}/biometric-verifications`, { token, body: signed(c4.nonce, system.clock.now().toISOString()) });
    assert.equal(expired.body.error.code, 'biometric_challenge_invalid');

    const stranger = await signUpAndLogIn(system);
    assert.equal((await api('POST', `/v1/devices/${device.id}/challenges`, { token: stranger.token })).status, 404);
  });

  test('disable (lost) and delete; a disabled device takes no challenges', async () => {
    const { token } = await signUpAndLogIn(system);
    const device = (await api('POST', '/v1/devices', { token, body: deviceBody(newPhoneKeys()) })).body;
    const disabled = await api('POST', `/v1/devices/${device.id}/disable`, { token });
    assert.deepEqual([disabled.status, disabled.body.status], [200, 'disabled']);
    assert.equal((await api('POST', `/v1/devices/${device.id}/challenges`, { token })).body.error.code, 'device_not_active');
    const deleted = await api('DELETE', `/v1/devices/${device.id}`, { token });
    assert.deepEqual([deleted.status, deleted.body.status], [200, 'deleted']);
    assert.equal((await api('GET', '/v1/devices', { token })).body.data.length, 0);
    assert.equal((await api('GET', `/v1/devices/${device.id}`, { token })).status, 404);
  });
});
