import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import {
  apiClient, latestSmsCode, openPaymentAccount, provisionDeviceCard, registerDevice, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';

describe('deregistration of the payment service and of the Mi account', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  test('refused with every reason while money is in play; then cards unbound, device cards deleted, account closed; then the Mi account', async () => {
    const h = await openPaymentAccount(system);
    const deviceId = await registerDevice(system, h.token);
    const deviceCard = await provisionDeviceCard(system, h, deviceId, h.cardId);
    assert.equal(deviceCard.status, 201);
    const topUp = await api('POST', '/v1/top-ups', { token: h.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: h.cardId, amount_fen: 2_000, payment_password: '135790' } });
    assert.equal(topUp.status, 201);
    let disputeOpen = true;
    system.platform.privacy.deregistration.addCheck(async (userId) => (userId === h.userId && disputeOpen
      ? { code: 'dispute_open', message: 'A dispute about a transaction is open; it must be closed first.' } : undefined));

    const refused = await api('POST', '/v1/privacy/deregistrations/payment-service', { token: h.token });
    assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.reasons], [409, 'deregistration_refused', ['balance_not_zero', 'dispute_open']]);
    assert.match(refused.body.error.message, /withdraw it/);
    const refusal = await api('GET', `/v1/privacy/requests/${refused.body.error.request_id}`, { token: h.token });
    assert.deepEqual([refusal.body.kind, refusal.body.status], ['deletion', 'refused']);
    assert.equal((await api('GET', '/v1/cards', { token: h.token })).body.data.length, 1, 'a refusal changes nothing');

    const withdrawn = await api('POST', '/v1/withdrawals', { token: h.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: h.cardId, amount_fen: 2_000, payment_password: '135790' } });
    assert.equal(withdrawn.status, 201, JSON.stringify(withdrawn.body));
    disputeOpen = false;
    const done = await api('POST', '/v1/privacy/deregistrations/payment-service', { token: h.token });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal((await api('GET', `/v1/privacy/requests/${done.body.request_id}`, { token: h.token })).body.status, 'completed');
    const db = system.database.forSchema('platform');
    const state = async () => (await sql<{ account: string; cards: string; device_card: string }>`
      select (select status from platform.payment_accounts where user_id = ${h.userId}) as account,
             (select string_agg(status, ',') from platform.bound_cards where user_id = ${h.userId}) as cards,
             (select status from platform.device_cards where id = ${deviceCard.body.device_card.id}) as device_card`.execute(db)).rows[0]!;
    assert.deepEqual(await state(), { account: 'closed', cards: 'unbound', device_card: 'deleted' });

    // The Mi account on top: the password confirms it; sessions end; the phone is free again.
    const noPassword = await api('POST', '/v1/privacy/deregistrations/mi-account', { token: h.token, body: { password: 'wrong-horse-1' } });
    assert.deepEqual([noPassword.status, noPassword.body.error.code], [403, 'password_wrong']);
    assert.equal((await api('POST', '/v1/privacy/permissions', { token: h.token, body: { device_id: deviceId, permission: 'camera', state: 'granted' } })).status, 201);
    const closed = await api('POST', '/v1/privacy/deregistrations/mi-account', { token: h.token, body: { password: 'correct-horse-9' } });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    assert.equal((await api('GET', '/v1/account', { token: h.token })).status, 401);
    assert.equal((await api('POST', '/v1/sessions', { body: { phone: h.phone, password: 'correct-horse-9' } })).status, 401);
    const user = (await sql<{ status: string; phone: string; nickname: string }>`select status, phone, nickname from platform.users where id = ${h.userId}`.execute(db)).rows[0]!;
    assert.equal(user.status, 'closed');
    assert.notEqual(user.phone, h.phone);
    assert.equal(user.nickname, '已注销');
    for (const table of ['sessions', 'permission_records', 'door_card_backups', 'user_birth_dates', 'profile_history']) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`platform.${table}`)} where user_id = ${h.userId}`.execute(db);
      assert.equal(rows[0]!.n, 0, `${table} erased`);
    }
    const { rows: codes } = await sql<{ n: number }>`select count(*)::int as n from platform.sms_codes where phone = ${h.phone}`.execute(db);
    assert.equal(codes[0]!.n, 0, 'codes to the phone erased');
    // The AML records stay (AML law Art. 34): the payment account and its transactions.
    const { rows: kept } = await sql<{ n: number }>`select count(*)::int as n from platform.transactions where payer_user_id = ${h.userId} or payee_user_id = ${h.userId}`.execute(db);
    assert.ok(kept[0]!.n >= 2);

    system.clock.advance(61_000);
    await api('POST', '/v1/sms-codes', { body: { phone: h.phone, purpose: 'sign_up' } });
    const again = await api('POST', '/v1/accounts', { body: { phone: h.phone, sms_code: await latestSmsCode(system.platform.app, h.phone), password: 'correct-horse-9', nickname: 'new' } });
    assert.equal(again.status, 201, 'the phone can sign up again');
    assert.notEqual(again.body.id, h.userId);
  });

  test('with a zero balance and nothing pending, deregistering the Mi account takes the payment service with it and ends every session', async () => {
    const h = await openPaymentAccount(system);
    const other = await api('POST', '/v1/sessions', { body: { phone: h.phone, password: 'correct-horse-9' } });
    const closed = await api('POST', '/v1/privacy/deregistrations/mi-account', { token: other.body.token, body: { password: 'correct-horse-9' } });
    assert.equal(closed.status, 200, 'a zero balance and no pending payment: payment service and account both go');
    assert.equal((await api('GET', '/v1/account', { token: h.token })).status, 401, 'every session ended');
  });
});
