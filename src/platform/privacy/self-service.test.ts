import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, newPhone, openPaymentAccount, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';

describe('self-service: passwords, limits, corrections', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  test('login password: old one and an SMS code; other sessions end; the old password stops working', async () => {
    const { token, phone } = await signUpAndLogIn(system);
    const second = await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } });
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/sms-codes', { token, body: { phone, purpose: 'login_password_change' } })).status, 202);
    const code = await latestSmsCode(system.platform.app, phone);
    const wrongOld = await api('PUT', '/v1/account/password', { token, body: { old_password: 'wrong-horse-1', sms_code: code, new_password: 'battery-staple-7' } });
    assert.deepEqual([wrongOld.status, wrongOld.body.error.code], [403, 'password_wrong']);
    const weak = await api('PUT', '/v1/account/password', { token, body: { old_password: 'correct-horse-9', sms_code: code, new_password: 'short' } });
    assert.deepEqual([weak.status, weak.body.error.code], [400, 'password_too_weak']);
    const badCode = await api('PUT', '/v1/account/password', { token, body: { old_password: 'correct-horse-9', sms_code: String((Number(code) + 1) % 1e6).padStart(6, '0'), new_password: 'battery-staple-7' } });
    assert.equal(badCode.body.error.code, 'sms_code_wrong');
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } })).status, 201, 'nothing changed yet');
    const changed = await api('PUT', '/v1/account/password', { token, body: { old_password: 'correct-horse-9', sms_code: code, new_password: 'battery-staple-7' } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await api('GET', '/v1/account', { token })).status, 200, 'this session stays');
    assert.equal((await api('GET', '/v1/account', { token: second.body.token })).status, 401, 'the others end');
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } })).status, 401);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'battery-staple-7' } })).status, 201);
  });

  test('payment password: changed with the old one (wrong tries count toward the lock); remaining limits', async () => {
    const h = await openPaymentAccount(system);
    const wrong = await api('PUT', '/v1/payment-account/password', { token: h.token, body: { old_payment_password: '000000', new_payment_password: '246813' } });
    assert.deepEqual([wrong.status, wrong.body.error.code, wrong.body.error.tries_left], [422, 'payment_password_wrong', 4]);
    const same = await api('PUT', '/v1/payment-account/password', { token: h.token, body: { old_payment_password: '135790', new_payment_password: '135790' } });
    assert.deepEqual([same.status, same.body.error.param], [400, 'new_payment_password']);
    // A weak new password is the new field's fault, not the old one's (found by the HTTP fuzzer).
    const weak = await api('PUT', '/v1/payment-account/password', { token: h.token, body: { old_payment_password: '135790', new_payment_password: '123456' } });
    assert.deepEqual([weak.status, weak.body.error.code, weak.body.error.param], [400, 'payment_password_too_weak', 'new_payment_password']);
    const ok = await api('PUT', '/v1/payment-account/password', { token: h.token, body: { old_payment_password: '135790', new_payment_password: '246813' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const withOld = await api('POST', '/v1/payment-account/password/verify', { token: h.token, body: { payment_password: '135790' } });
    assert.equal(withOld.body.error.code, 'payment_password_wrong');

    const topUp = await api('POST', '/v1/top-ups', { token: h.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: h.cardId, amount_fen: 50_000, payment_password: '246813' } });
    assert.equal(topUp.status, 201, JSON.stringify(topUp.body));
    const payee = await openPaymentAccount(system, { name: '王五' });
    const lookup = await api('POST', '/v1/payee-lookups', { token: h.token, body: { phone: payee.phone } });
    assert.equal(lookup.status, 201, JSON.stringify(lookup.body));
    const sent = await api('POST', '/v1/transfers', { token: h.token, headers: { 'idempotency-key': randomUUID() },
      body: { payee_confirmation: lookup.body.confirmation, amount_fen: 30_000, payment_password: '246813' } });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const limits = await api('GET', '/v1/payment-account/limits', { token: h.token });
    assert.equal(limits.status, 200, JSON.stringify(limits.body));
    assert.deepEqual(limits.body, {
      account_class: 'I', class_period: 'since_opening', class_limit_fen: '100000', class_used_fen: '30000', class_remaining_fen: '70000',
      day: limits.body.day, daily_limit_fen: '500000', daily_used_fen: '30000', daily_remaining_fen: '470000',
      daily_fewer_than_two_factors_limit_fen: '100000', daily_fewer_than_two_factors_remaining_fen: '70000',
    });
    const none = await signUpAndLogIn(system);
    assert.equal((await api('GET', '/v1/payment-account/limits', { token: none.token })).body.error.code, 'payment_account_not_found');
  });

  test('corrections: nickname, avatar, login phone with codes to both numbers; each kept in the history', async () => {
    const { token, phone } = await signUpAndLogIn(system);
    assert.equal((await api('PATCH', '/v1/account', { token, body: { nickname: '新昵称', avatar_url: 'https://img.example.com/a.png' } })).status, 200);
    assert.equal((await api('PATCH', '/v1/account', { token, body: { avatar_url: null } })).status, 200);
    const bad = await api('PATCH', '/v1/account', { token, body: { avatar_url: 'javascript:alert(1)' } });
    assert.deepEqual([bad.status, bad.body.error.param], [400, 'avatar_url']);

    const taken = await signUpAndLogIn(system);
    const next = newPhone();
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/account/phone/codes', { token, body: { new_phone: next } })).status, 202);
    const oldCode = await latestSmsCode(system.platform.app, phone);
    const newCode = await latestSmsCode(system.platform.app, next);
    const wrongNew = await api('PUT', '/v1/account/phone', { token, body: { new_phone: next, current_phone_code: oldCode, new_phone_code: String((Number(newCode) + 1) % 1e6).padStart(6, '0') } });
    assert.deepEqual([wrongNew.body.error.code, wrongNew.body.error.param], ['sms_code_wrong', 'new_phone_code']);
    const moved = await api('PUT', '/v1/account/phone', { token, body: { new_phone: next, current_phone_code: oldCode, new_phone_code: newCode } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal((await api('GET', '/v1/account', { token })).body.phone, next);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone: next, password: 'correct-horse-9' } })).status, 201);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } })).status, 401);

    system.clock.advance(61_000);
    await api('POST', '/v1/account/phone/codes', { token, body: { new_phone: taken.phone } });
    const toTaken = await api('PUT', '/v1/account/phone', { token, body: { new_phone: taken.phone,
      current_phone_code: await latestSmsCode(system.platform.app, next), new_phone_code: await latestSmsCode(system.platform.app, taken.phone) } });
    assert.deepEqual([toTaken.status, toTaken.body.error.code], [409, 'phone_already_registered']);

    const history = await api('GET', '/v1/account/history', { token });
    assert.deepEqual(history.body.data.map((h: { field: string; old_value: string | null; new_value: string | null }) => [h.field, h.old_value, h.new_value]), [
      ['nickname', 'tester', '新昵称'], ['avatar_url', null, 'https://img.example.com/a.png'], ['avatar_url', 'https://img.example.com/a.png', null],
      ['phone', `${phone.slice(0, 3)}****${phone.slice(-4)}`, `${next.slice(0, 3)}****${next.slice(-4)}`],
    ]);
  });
});
