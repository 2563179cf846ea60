import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, newPhone, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';

describe('Mi accounts: sign up, log in, sessions, log out', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());


  test('happy journey: code by SMS, sign up, log in, list sessions, log out', async () => {
    const phone = newPhone();
    const sent = await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    assert.equal(sent.status, 202);
    const code = await latestSmsCode(system.platform.app, phone);
    const created = await api('POST', '/v1/accounts', { body: { phone, sms_code: code, password: 'pass-word-1', nickname: '小米用户' } });
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^usr_/);
    assert.equal(created.body.nickname, '小米用户');

    const login = await api('POST', '/v1/sessions', { body: { phone, password: 'pass-word-1' }, headers: { 'user-agent': 'MiPayTest/1.0' } });
    assert.equal(login.status, 201);
    const token: string = login.body.token;
    assert.match(token, /^mps_/);

    const me = await api('GET', '/v1/account', { token });
    assert.equal(me.status, 200);
    assert.equal(me.body.phone, phone);

    const second = await api('POST', '/v1/sessions', { body: { phone, password: 'pass-word-1' } });
    const sessions = await api('GET', '/v1/sessions', { token });
    assert.equal(sessions.body.data.length, 2);
    assert.equal(sessions.body.data.filter((s: { current: boolean }) => s.current).length, 1);
    assert.equal(sessions.body.data.find((s: { current: boolean }) => s.current).user_agent, 'MiPayTest/1.0');

    assert.equal((await api('DELETE', '/v1/sessions/current', { token })).status, 204);
    const afterLogout = await api('GET', '/v1/account', { token });
    assert.equal(afterLogout.status, 401);
    assert.equal(afterLogout.body.error.code, 'authentication_required');
    assert.equal((await api('GET', '/v1/account', { token: second.body.token })).status, 200);
  });

  test('a code is single use, expires after 5 minutes, and 5 wrong tries burn it', async () => {
    const phone = newPhone();
    await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    const code = await latestSmsCode(system.platform.app, phone);
    const wrong = code === '000000' ? '111111' : '000000';
    const signUp = (smsCode: string) => api('POST', '/v1/accounts', { body: { phone, sms_code: smsCode, password: 'pass-word-1', nickname: 'n' } });

    for (let left = 4; left >= 1; left--) {
      const refused = await signUp(wrong);
      assert.equal(refused.status, 422);
      assert.deepEqual([refused.body.error.code, refused.body.error.param, refused.body.error.tries_left], ['sms_code_wrong', 'sms_code', left]);
    }
    const fifth = await signUp(wrong);
    assert.equal(fifth.body.error.code, 'sms_code_burned');
    // Even the right code is refused once the code is burned.
    assert.equal((await signUp(code)).body.error.code, 'sms_code_burned');
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'pass-word-1' } })).status, 401);

    // A new code, a minute later (rate limit), that expires after 5 minutes.
    system.clock.advance(61_000);
    await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    const second = await latestSmsCode(system.platform.app, phone);
    system.clock.advance(5 * 60_000 + 1);
    const expired = await signUp(second);
    assert.equal(expired.body.error.code, 'sms_code_expired');

    await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    const third = await latestSmsCode(system.platform.app, phone);
    assert.equal((await signUp(third)).status, 201);
    // Reusing it (even for a new sign-up attempt) is refused.
    const reused = await api('POST', '/v1/accounts', { body: { phone, sms_code: third, password: 'pass-word-1', nickname: 'n' } });
    assert.equal(reused.body.error.code, 'sms_code_used');
  });

  test('a used code cannot be used again', async () => {
    const phone = newPhone();
    await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    const code = await latestSmsCode(system.platform.app, phone);
    // A weak password is refused before the code is looked at: the code stays usable.
    const weak = await api('POST', '/v1/accounts', { body: { phone, sms_code: code, password: 'short', nickname: 'n' } });
    assert.deepEqual([weak.status, weak.body.error.code, weak.body.error.param], [400, 'password_too_weak', 'password']);
    assert.equal((await api('POST', '/v1/accounts', { body: { phone, sms_code: code, password: 'long-enough-1', nickname: 'n' } })).status, 201);
    // The account exists now: asking a sign-up code is answered as for any phone, and the text tells the owner, with no code.
    system.clock.advance(61_000);
    const again = await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    assert.equal(again.status, 202);
    const text: string = (await api('GET', `/v1/sandbox/sms?phone=${phone}&limit=1`)).body.data[0].text;
    assert.match(text, /已注册/);
    assert.doesNotMatch(text, /[0-9]{6}/);
  });

  test('codes to one phone: 1 a minute, 10 an hour', async () => {
    const phone = newPhone();
    assert.equal((await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } })).status, 202);
    const tooSoon = await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    assert.equal(tooSoon.status, 429);
    assert.equal(tooSoon.body.error.code, 'rate_limited');
    assert.ok(Number(tooSoon.headers['retry-after']) >= 1);
    for (let i = 2; i <= 10; i++) {
      system.clock.advance(60_001);
      assert.equal((await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } })).status, 202, `send ${i}`);
    }
    system.clock.advance(60_001);
    const eleventh = await api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    assert.equal(eleventh.status, 429);
    assert.equal(eleventh.body.error.retry_after_s, 3600);
  });

  test('bad input: clear error naming the field, nothing written', async () => {
    const badPhone = await api('POST', '/v1/sms-codes', { body: { phone: '12345', purpose: 'sign_up' } });
    assert.equal(badPhone.status, 400);
    assert.equal(badPhone.body.error.code, 'parameter_invalid');
    assert.equal(badPhone.body.error.param, 'phone');
    const noCode = await api('POST', '/v1/accounts', { body: { phone: newPhone(), sms_code: '123456', password: 'pass-word-1', nickname: 'n' } });
    assert.deepEqual([noCode.status, noCode.body.error.code], [422, 'sms_code_not_requested']);
    const missing = await api('POST', '/v1/accounts', { body: { phone: newPhone(), password: 'pass-word-1', nickname: 'n' } });
    assert.deepEqual([missing.status, missing.body.error.param], [400, 'sms_code']);
    const badJson = await system.platform.app.inject({ method: 'POST', url: '/v1/sessions', headers: { 'content-type': 'application/json' }, payload: '{"phone":' });
    assert.equal(badJson.statusCode, 400);
    assert.equal(badJson.json().error.code, 'body_invalid');
  });

  test('registration cannot be enumerated: sign-up codes, sign-ups and logins answer alike for registered and unknown phones', async () => {
    const { phone: registered } = await signUpAndLogIn(system);
    const unknown = newPhone();
    system.clock.advance(61_000);
    const strip = (r: { status: number; body: any }) => {
      const { expires_at: _expires, phone: _phone, ...rest } = r.body ?? {};
      return { status: r.status, body: r.body?.error ? { ...r.body.error, message: r.body.error.message } : rest };
    };
    const codeFor = (phone: string) => api('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } });
    assert.deepEqual(strip(await codeFor(registered)), strip(await codeFor(unknown)));
    const signUpFor = (phone: string) => api('POST', '/v1/accounts', { body: { phone, sms_code: '000000', password: 'pass-word-1', nickname: 'n' } });
    const [a, b] = [await signUpFor(registered), await signUpFor(unknown)];
    // A guessed code (the registered phone was texted none) fails identically; only the real code's holder could differ.
    assert.equal(b.body.error.code, 'sms_code_wrong');
    assert.deepEqual(strip(a), strip(b));
    const logInTo = (phone: string) => api('POST', '/v1/sessions', { body: { phone, password: 'not-the-password-1' } });
    const answers: [unknown, unknown][] = [];
    for (let i = 0; i < 10; i++) answers.push([strip(await logInTo(registered)), strip(await logInTo(unknown))]);
    for (const [known, other] of answers.slice(0, 9)) assert.deepEqual(known, other);
    // The tenth wrong try locks both, so the lock tells nothing either (locked_until differs by the time of the first try).
    assert.deepEqual(answers.map(([k, o]) => [(k as any).body.code, (o as any).body.code])[9], ['login_locked', 'login_locked']);
  });

  test('logins are limited per client address before the password is checked', async () => {
    system.clock.advance(120_000);
    const { phone } = await signUpAndLogIn(system);
    system.clock.advance(120_000);
    const logIn = (ip: string, password: string) => system.platform.app.inject({
      method: 'POST', url: '/v1/sessions', remoteAddress: ip, payload: { phone, password },
    });
    for (let i = 0; i < 20; i++) assert.equal((await logIn('203.0.113.9', 'correct-horse-9')).statusCode, 201);
    const refused = await logIn('203.0.113.9', 'correct-horse-9');
    assert.deepEqual([refused.statusCode, refused.json().error.code], [429, 'rate_limited']);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    // Another address of the same /24 still gets in; a flood across the /24 is refused too.
    assert.equal((await logIn('203.0.113.10', 'correct-horse-9')).statusCode, 201);
    // Refused requests were not counted as wrong passwords.
    const row = await system.database.forSchema<any>('platform').selectFrom('users').select('login_failed_count').where('phone', '=', phone).executeTakeFirstOrThrow();
    assert.equal(row.login_failed_count, 0);
  });

  test('wrong login passwords are counted; the tenth locks logging in', async () => {
    const { phone } = await signUpAndLogIn(system);
    const wrong = await api('POST', '/v1/sessions', { body: { phone, password: 'not-the-password-1' } });
    assert.deepEqual([wrong.status, wrong.body.error.code, wrong.body.error.tries_left], [401, 'login_failed', undefined]);
    for (let i = 0; i < 8; i++) await api('POST', '/v1/sessions', { body: { phone, password: 'not-the-password-1' } });
    const tenth = await api('POST', '/v1/sessions', { body: { phone, password: 'not-the-password-1' } });
    assert.equal(tenth.body.error.code, 'login_locked');
    const right = await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } });
    assert.equal(right.body.error.code, 'login_locked');
    system.clock.advance(3_600_001);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } })).status, 201);
    // An unknown phone gets the same answer as a wrong password.
    const unknown = await api('POST', '/v1/sessions', { body: { phone: newPhone(), password: 'whatever-1' } });
    assert.deepEqual([unknown.status, unknown.body.error.code], [401, 'login_failed']);
  });

  test('another session can be ended; foreign session ids are not found', async () => {
    const a = await signUpAndLogIn(system);
    const b = await signUpAndLogIn(system);
    const bSessions = await api('GET', '/v1/sessions', { token: b.token });
    const bSessionId = bSessions.body.data[0].id;
    const foreign = await api('DELETE', `/v1/sessions/${bSessionId}`, { token: a.token });
    assert.deepEqual([foreign.status, foreign.body.error.code], [404, 'not_found']);
    assert.equal((await api('DELETE', `/v1/sessions/${bSessionId}`, { token: b.token })).status, 204);
    assert.equal((await api('GET', '/v1/account', { token: b.token })).status, 401);
  });
});
