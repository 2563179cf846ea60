import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { staffSessionIdleMs, staffSessionLifetimeMs } from './service.ts';
import { createTestStaff, logInTestStaff, testStaffAddress, testStaffPassword } from './test-staff.ts';
import { base32Decode, totp } from './totp.ts';

describe('staff: accounts apart from users, TOTP login, roles, sessions', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  const login = async (email: string, password: string, code: string) => {
    const response = await system.platform.app.inject({
      method: 'POST', url: '/ops/v1/sessions', remoteAddress: testStaffAddress(), payload: { email, password, totp_code: code },
    });
    return { status: response.statusCode, body: response.json() };
  };

  test('login takes email, password and the current TOTP code; each code works once', async () => {
    const created = await system.platform.staff.create({ email: 'Agent.One@ops.example', name: 'Agent One', password: testStaffPassword, roles: ['support_agent'], createdBy: null });
    const code = totp(created.totpSecret, system.clock.now());
    const ok = await login('agent.one@ops.example', testStaffPassword, code);
    assert.equal(ok.status, 201);
    assert.match(ok.body.token, /^mpo_/);
    assert.deepEqual(ok.body.staff.roles, ['support_agent']);
    const me = await api('GET', '/ops/v1/me', { token: ok.body.token });
    assert.deepEqual([me.status, me.body.email], [200, 'agent.one@ops.example']);

    // The same code again (someone who saw it) is refused, as are a wrong password and a wrong code: one answer for all.
    const replayed = await login('agent.one@ops.example', testStaffPassword, code);
    assert.deepEqual([replayed.status, replayed.body.error.code], [401, 'staff_login_failed']);
    system.clock.advance(30_000);
    const fresh = totp(created.totpSecret, system.clock.now());
    assert.equal((await login('agent.one@ops.example', 'wrong-pass-word-1', fresh)).body.error.code, 'staff_login_failed');
    const wrongCode = fresh === '000000' ? '111111' : '000000';
    assert.equal((await login('agent.one@ops.example', testStaffPassword, wrongCode)).body.error.code, 'staff_login_failed');
    assert.equal((await login('nobody@ops.example', testStaffPassword, fresh)).body.error.code, 'staff_login_failed');
    assert.equal((await login('agent.one@ops.example', testStaffPassword, fresh)).status, 201);
  });

  test('five failed logins lock the staff login for an hour, right code or not', async () => {
    const created = await system.platform.staff.create({ email: 'locked@ops.example', name: 'L', password: testStaffPassword, roles: ['risk_reviewer'], createdBy: null });
    for (let i = 0; i < 4; i++) assert.equal((await login('locked@ops.example', 'wrong-pass-word-1', '123456')).body.error.code, 'staff_login_failed');
    const fifth = await login('locked@ops.example', 'wrong-pass-word-1', '123456');
    assert.deepEqual([fifth.status, fifth.body.error.code], [423, 'staff_login_locked']);
    assert.ok(fifth.body.error.locked_until);
    const right = await login('locked@ops.example', testStaffPassword, totp(created.totpSecret, system.clock.now()));
    assert.equal(right.body.error.code, 'staff_login_locked');
    system.clock.advance(3_600_000 + 1);
    assert.equal((await login('locked@ops.example', testStaffPassword, totp(created.totpSecret, system.clock.now()))).status, 201);
  });

  test('staff logins are limited per client address like user logins (10 a minute)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const response = await system.platform.app.inject({
        method: 'POST', url: '/ops/v1/sessions', remoteAddress: '192.0.2.7', payload: { email: `flood${i}@ops.example`, password: 'x', totp_code: '123456' },
      });
      statuses.push(response.statusCode);
    }
    assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429]);
  });

  test('an agent without the role gets 403; a user\'s session is no staff session; no token is 401', async () => {
    const agent = await createTestStaff(system, ['support_agent']);
    const forbidden = await api('GET', '/ops/v1/staff', { token: agent.token });
    assert.deepEqual([forbidden.status, forbidden.body.error.code, forbidden.body.error.roles_required], [403, 'staff_role_required', ['admin']]);
    const user = await signUpAndLogIn(system);
    assert.equal((await api('GET', '/ops/v1/me', { token: user.token })).status, 401);
    assert.equal((await api('GET', '/ops/v1/me')).body.error.code, 'authentication_required');
    // And a staff token is no user session.
    assert.equal((await api('GET', '/v1/account', { token: agent.token })).status, 401);
  });

  test('a staff session ends after 30 minutes unused and after 8 hours at most; logout ends it at once', async () => {
    const agent = await createTestStaff(system, ['support_agent']);
    system.clock.advance(staffSessionIdleMs - 1_000);
    assert.equal((await api('GET', '/ops/v1/me', { token: agent.token })).status, 200, 'used just before the idle limit');
    system.clock.advance(staffSessionIdleMs);
    assert.equal((await api('GET', '/ops/v1/me', { token: agent.token })).status, 401, 'idle 30 minutes');

    system.clock.advance(30_000);
    const token = await logInTestStaff(system, agent.email, agent.totpSecret);
    // Used every 20 minutes, it still ends 8 hours after login.
    for (let elapsed = 0; elapsed + 20 * 60_000 < staffSessionLifetimeMs; elapsed += 20 * 60_000) {
      system.clock.advance(20 * 60_000);
      assert.equal((await api('GET', '/ops/v1/me', { token })).status, 200);
    }
    system.clock.advance(20 * 60_000);
    assert.equal((await api('GET', '/ops/v1/me', { token })).status, 401, 'past 8 hours');

    system.clock.advance(30_000);
    const third = await logInTestStaff(system, agent.email, agent.totpSecret);
    assert.equal((await api('DELETE', '/ops/v1/sessions/current', { token: third })).status, 204);
    assert.equal((await api('GET', '/ops/v1/me', { token: third })).status, 401);
  });

  test('admins create staff (secrets once), set roles and disable; each change is audited; no self-demotion', async () => {
    const admin = await createTestStaff(system, ['admin']);
    const created = await api('POST', '/ops/v1/staff', { token: admin.token, body: { email: 'new.agent@ops.example', name: 'New Agent', roles: ['support_agent'] } });
    assert.equal(created.status, 201);
    assert.match(created.body.otpauth_uri, /^otpauth:\/\/totp\//);
    assert.match(created.body.totp_secret, /^[A-Z2-7]{32}$/);
    const again = await api('POST', '/ops/v1/staff', { token: admin.token, body: { email: 'new.agent@ops.example', name: 'X', roles: ['admin'] } });
    assert.equal(again.body.error.code, 'staff_email_taken');

    const id: string = created.body.staff.id;
    const roles = await api('PUT', `/ops/v1/staff/${id}/roles`, { token: admin.token, body: { roles: ['support_agent', 'compliance_officer'] } });
    assert.deepEqual(roles.body.roles, ['compliance_officer', 'support_agent']);
    const self = await api('PUT', `/ops/v1/staff/${admin.staffId}/roles`, { token: admin.token, body: { roles: ['support_agent'] } });
    assert.deepEqual([self.status, self.body.error.code], [409, 'staff_change_refused']);
    assert.equal((await api('PUT', '/ops/v1/staff/stf_nope/roles', { token: admin.token, body: { roles: ['admin'] } })).status, 404);

    // The new staff member logs in, then is disabled: the session ends at once.
    const secret = base32Decode(created.body.totp_secret);
    const newLogin = await login('new.agent@ops.example', created.body.password, totp(secret, system.clock.now()));
    assert.equal(newLogin.status, 201);

    // The new staff member replaces the generated password (current password and a fresh code again).
    system.clock.advance(30_000);
    const newToken: string = (await login('new.agent@ops.example', created.body.password, totp(secret, system.clock.now()))).body.token;
    const weak = await api('POST', '/ops/v1/me/password', { token: newToken, body: { current_password: created.body.password, new_password: 'short1', totp_code: '000000' } });
    assert.equal(weak.body.error.code, 'staff_password_too_weak');
    system.clock.advance(30_000);
    const changed = await api('POST', '/ops/v1/me/password', {
      token: newToken, body: { current_password: created.body.password, new_password: 'a-much-better-pass-1', totp_code: totp(secret, system.clock.now()) },
    });
    assert.equal(changed.status, 204);
    assert.equal((await api('GET', '/ops/v1/me', { token: newLogin.body.token })).status, 401, 'the other session ended');
    assert.equal((await api('GET', '/ops/v1/me', { token: newToken })).status, 200, 'this session goes on');
    system.clock.advance(30_000);
    assert.equal((await login('new.agent@ops.example', 'a-much-better-pass-1', totp(secret, system.clock.now()))).status, 201);
    assert.equal((await api('POST', `/ops/v1/staff/${id}/disable`, { token: admin.token })).body.status, 'disabled');
    assert.equal((await api('GET', '/ops/v1/me', { token: newToken })).status, 401);

    const trail = await system.platform.audit.search({ staffId: admin.staffId, limit: 20 });
    assert.deepEqual(trail.map((e) => e.action).reverse(), ['staff.login', 'staff.create', 'staff.roles.set', 'staff.disable']);
    assert.equal(trail.find((e) => e.action === 'staff.roles.set')!.details, JSON.stringify({ before: ['support_agent'], after: ['compliance_officer', 'support_agent'] }));
    assert.equal(JSON.stringify(trail, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes(created.body.password), false, 'no password in the audit log');
  });
});

