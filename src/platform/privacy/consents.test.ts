import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { apiClient, latestSmsCode, newPhone, registerDevice, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';

describe('privacy: policy versions, consent, permissions, minors', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  test('sign-up records the version in force; a major version asks re-acceptance at login; a new purpose is off until consented', async () => {
    const policy = await api('GET', '/v1/privacy/policy');
    assert.equal(policy.status, 200);
    assert.equal(policy.body.version, '1.0');
    assert.ok(policy.body.purposes.some((p: { code: string; required: boolean }) => p.code === 'marketing' && !p.required));

    const phone = newPhone();
    await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    const code = await latestSmsCode(system.platform.app, phone);
    const stale = await api('POST', '/v1/accounts', { body: { phone, sms_code: code, password: 'correct-horse-9', nickname: 'x', accepted_policy_version: '0.9' } });
    assert.deepEqual([stale.status, stale.body.error.code, stale.body.error.param], [409, 'policy_version_not_current', 'accepted_policy_version']);
    assert.equal((await system.platform.accounts.findUserByPhone(phone)), undefined, 'a refused sign-up leaves no account');
    system.clock.advance(61_000);
    await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    const code2 = await latestSmsCode(system.platform.app, phone);
    const made = await api('POST', '/v1/accounts', { body: { phone, sms_code: code2, password: 'correct-horse-9', nickname: 'x', accepted_policy_version: '1.0' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const login = await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } });
    assert.equal(login.status, 201);
    const consents = await api('GET', '/v1/privacy/consents', { token: login.body.token });
    assert.deepEqual(consents.body.acceptances.map((a: { version: string; channel: string }) => [a.version, a.channel]), [['1.0', 'sign_up']]);
    assert.equal(consents.body.purposes.find((p: { code: string }) => p.code === 'marketing').granted, false, 'marketing is opt-in');

    // A minor version needs no new acceptance; a major one does, at the next login.
    const now = system.clock.now();
    await system.platform.privacy.consents.publishVersion({ version: '1.1', effectiveAt: new Date(now.getTime() + 1000), textLocation: 'seed/000 v1.1', major: false, purposes: policy.body.purposes });
    system.clock.advance(2000);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } })).status, 201);
    const purposes = [...policy.body.purposes, { code: 'personalised_offers', required: false, description: 'Offers chosen from one\'s transactions' }];
    await system.platform.privacy.consents.publishVersion({ version: '2.0', effectiveAt: new Date(system.clock.now().getTime() + 1000), textLocation: 'seed/000 v2.0', major: true, purposes });
    system.clock.advance(2000);
    const refused = await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } });
    assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.version], [403, 'policy_acceptance_required', '2.0']);
    const wrongVersion = await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9', accept_policy_version: '1.1' } });
    assert.equal(wrongVersion.body.error.code, 'policy_acceptance_required', 'only the version in force is accepted');
    const accepted = await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9', accept_policy_version: '2.0' } });
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } })).status, 201, 'accepted once is enough');
    const after2 = await api('GET', '/v1/privacy/consents', { token: accepted.body.token });
    assert.deepEqual(after2.body.acceptances.map((a: { version: string; channel: string }) => [a.version, a.channel]), [['1.0', 'sign_up'], ['2.0', 'login']]);
    assert.equal(after2.body.purposes.find((p: { code: string }) => p.code === 'personalised_offers').granted, false, 'a new purpose is off until consented');

    // Marketing: opt in, opt out; the history keeps both.
    const token = accepted.body.token;
    assert.equal((await api('PUT', '/v1/privacy/consents/marketing', { token, body: { granted: true } })).status, 200);
    assert.equal(await system.platform.privacy.consents.marketingAllowed(made.body.id), true);
    assert.equal((await api('PUT', '/v1/privacy/consents/marketing', { token, body: { granted: false } })).status, 200);
    assert.equal(await system.platform.privacy.consents.marketingAllowed(made.body.id), false);
    const history = (await api('GET', '/v1/privacy/consents', { token })).body.history;
    assert.deepEqual(history.map((h: { purpose: string; granted: boolean; policy_version: string }) => [h.purpose, h.granted, h.policy_version]),
      [['marketing', true, '2.0'], ['marketing', false, '2.0']]);
    const required = await api('PUT', '/v1/privacy/consents/account', { token, body: { granted: false } });
    assert.deepEqual([required.status, required.body.error.param], [400, 'purpose']);
    const unknown = await api('PUT', '/v1/privacy/consents/nothing', { token, body: { granted: true } });
    assert.deepEqual([unknown.status, unknown.body.error.param], [400, 'purpose']);
  });

  test('the phone reports permission grants and revocations; a feature needing a revoked one says so', async () => {
    const { token } = await signUpAndLogIn(system);
    const deviceId = await registerDevice(system, token);
    const check = () => api('POST', '/v1/privacy/feature-checks', { token, body: { device_id: deviceId, feature: 'scan_card_with_camera' } });
    const never = await check();
    assert.deepEqual([never.status, never.body.error.code, never.body.error.permission], [403, 'permission_revoked', 'camera']);
    const report = (state: string) => api('POST', '/v1/privacy/permissions', { token, body: { device_id: deviceId, permission: 'camera', state } });
    assert.equal((await report('granted')).status, 201);
    system.clock.advance(1000);
    assert.deepEqual((await check()).body, { feature: 'scan_card_with_camera', permission: 'camera', available: true });
    assert.equal((await report('revoked')).status, 201);
    const revoked = await check();
    assert.deepEqual([revoked.status, revoked.body.error.code], [403, 'permission_revoked']);
    assert.match(revoked.body.error.message, /camera permission, which this phone revoked/);
    const listed = await api('GET', '/v1/privacy/permissions', { token });
    assert.deepEqual(listed.body.data.map((p: { permission: string; state: string }) => [p.permission, p.state]), [['camera', 'granted'], ['camera', 'revoked']]);

    const other = await signUpAndLogIn(system);
    const foreign = await api('POST', '/v1/privacy/permissions', { token: other.token, body: { device_id: deviceId, permission: 'camera', state: 'granted' } });
    assert.deepEqual([foreign.status, foreign.body.error.code], [404, 'not_found']);
    const bad = await api('POST', '/v1/privacy/permissions', { token, body: { device_id: deviceId, permission: 'microphone', state: 'granted' } });
    assert.deepEqual([bad.status, bad.body.error.param], [400, 'permission']);
  });

  test('a minor is refused at sign-up with no row, no log line and no SMS about them', async () => {
    const phone = newPhone();
    const today = system.clock.now();
    const birth = `${today.getUTCFullYear() - 17}-06-15`;
    const logsBefore = system.logs.length;
    const refused = await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up', birth_date: birth } });
    assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.param], [403, 'applicant_under_18', 'birth_date']);
    const signUp = await api('POST', '/v1/accounts', { body: { phone, sms_code: '123456', password: 'correct-horse-9', nickname: 'kid', birth_date: birth } });
    assert.deepEqual([signUp.status, signUp.body.error.code], [403, 'applicant_under_18']);
    const sms = await api('GET', `/v1/sandbox/sms?phone=${phone}`);
    assert.deepEqual(sms.body.data, [], 'no SMS');
    const db = system.database.forSchema('platform');
    for (const table of ['users', 'sms_codes']) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`platform.${table}`)} where phone = ${phone}`.execute(db);
      assert.equal(rows[0]!.n, 0, `no ${table} row`);
    }
    const newLines = system.logs.slice(logsBefore).join('\n');
    assert.ok(!newLines.includes(phone) && !newLines.includes(birth), 'no log line names the phone or the date of birth');

    // An adult's declared date of birth is kept with the account.
    const adult = newPhone();
    await api('POST', '/v1/sms-codes', { body: { phone: adult, purpose: 'sign_up', birth_date: '1990-02-28' } });
    const code = await latestSmsCode(system.platform.app, adult);
    const made = await api('POST', '/v1/accounts', { body: { phone: adult, sms_code: code, password: 'correct-horse-9', nickname: 'grown', birth_date: '1990-02-28' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { rows } = await sql<{ birth_date: string }>`select birth_date from platform.user_birth_dates where user_id = ${made.body.id}`.execute(db);
    assert.deepEqual(rows, [{ birth_date: '1990-02-28' }]);
    const badDate = await api('POST', '/v1/sms-codes', { body: { phone: newPhone(), purpose: 'sign_up', birth_date: '1990-02-30' } });
    assert.deepEqual([badDate.status, badDate.body.error.param], [400, 'birth_date']);
  });
});
