import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { unzipSync, strFromU8 } from 'fflate';
import { sql } from 'kysely';
import {
  apiClient, latestSmsCode, openPaymentAccount, provisionDeviceCard, registerDevice, startTestSystem, type AccountHolder, type TestSystem,
} from '../../cli/test-system.ts';

const pngBase64 = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, 7)]).toString('base64');
const dayMs = 86_400_000;

describe('privacy: a copy of everything', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  async function download(token: string, id: string, body: object) {
    const response = await system.platform.app.inject({ method: 'POST', url: `/v1/privacy/exports/${id}/download`, headers: { authorization: `Bearer ${token}` }, payload: body });
    return response;
  }

  /** A holder with a row in every domain's tables, each made through the API where the API makes it. */
  async function holderEverywhere(): Promise<{ h: AccountHolder; ids: Record<string, string> }> {
    const h = await openPaymentAccount(system);
    const aml = await api('PUT', '/v1/payment-account/aml', { token: h.token, body: {
      gender: 'male', occupation: '工程师', nationality: 'CHN', id_type: 'resident_id', id_expiry: 'long_term',
      id_photo: { content_type: 'image/png', data_base64: pngBase64 }, address: '北京市东城区导出测试路7号',
    } });
    assert.equal(aml.status, 200, JSON.stringify(aml.body));
    const deviceId = await registerDevice(system, h.token);
    const deviceCard = await provisionDeviceCard(system, h, deviceId, h.cardId);
    assert.equal(deviceCard.status, 201, JSON.stringify(deviceCard.body));
    const door = await api('POST', '/v1/door-cards', { token: h.token, body: { card_ref: 'door_00000000e1e1', name: '导出门卡', uid_masked: 'CD:**:**:F2', card_type: 'mifare_classic_1k' } });
    assert.equal(door.status, 201, JSON.stringify(door.body));
    const topUp = await api('POST', '/v1/top-ups', { token: h.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: h.cardId, amount_fen: 1234, payment_password: '135790' } });
    assert.equal(topUp.status, 201, JSON.stringify(topUp.body));
    // Transit cards are issued through the phone and the operator (transit.test.ts); a row is enough here.
    const transitId = `trc_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    await system.database.forSchema('platform').insertInto('transit_cards' as never).values({
      id: transitId, user_id: h.userId, device_id: deviceId, brand_code: 'BMAC', brand_kind: 'city', card_number: null, status: 'issuing',
      issue_order_id: null, auto_top_up_below_fen: null, auto_top_up_amount_fen: null, low_balance_alert_fen: null, created_at: system.clock.now(),
    } as never).execute();
    assert.equal((await api('POST', '/v1/privacy/permissions', { token: h.token, body: { device_id: deviceId, permission: 'location', state: 'granted' } })).status, 201);
    assert.equal((await api('PUT', '/v1/privacy/consents/marketing', { token: h.token, body: { granted: true } })).status, 200);
    const complaint = await api('POST', '/v1/privacy/requests', { token: h.token, body: { kind: 'complaint', details: '导出测试投诉' } });
    assert.equal(complaint.status, 201);
    assert.equal((await api('PATCH', '/v1/account', { token: h.token, body: { nickname: '导出昵称' } })).status, 200);
    return { h, ids: {
      device: deviceId, deviceCard: deviceCard.body.device_card.id, door: door.body.id, transaction: topUp.body.id, transit: transitId, request: complaint.body.id,
    } };
  }

  test('the ZIP holds one JSON per domain with a row of each, the AML data unsealed for the holder, and a summary', async () => {
    const { h, ids } = await holderEverywhere();
    const asked = await api('POST', '/v1/privacy/exports', { token: h.token });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    assert.equal(asked.body.status, 'pending');
    const early = await download(h.token, asked.body.id, { password: 'correct-horse-9' });
    assert.deepEqual([early.statusCode, early.json().error.code], [409, 'export_not_ready']);
    assert.ok(await system.platform.privacy.exports.runOnce() >= 1);
    const ready = await api('GET', `/v1/privacy/exports/${asked.body.id}`, { token: h.token });
    assert.equal(ready.body.status, 'ready');
    assert.equal(Date.parse(ready.body.expires_at) - Date.parse(ready.body.ready_at), 7 * dayMs);
    const access = await api('GET', `/v1/privacy/requests/${asked.body.request_id}`, { token: h.token });
    assert.deepEqual([access.body.kind, access.body.status], ['access', 'completed']);

    // Identity again before the download: nothing, a wrong password, or both are refused.
    assert.equal((await download(h.token, asked.body.id, {})).json().error.param, 'password');
    const wrong = await download(h.token, asked.body.id, { password: 'not-my-password-1' });
    assert.deepEqual([wrong.statusCode, wrong.json().error.code], [403, 'password_wrong']);
    const ok = await download(h.token, asked.body.id, { password: 'correct-horse-9' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['content-type'], 'application/zip');
    const files = unzipSync(ok.rawPayload);
    const json = (name: string) => JSON.parse(strFromU8(files[name]!));
    assert.deepEqual(Object.keys(files).sort(), [
      'account.json', 'cards.json', 'consents.json', 'devices.json', 'payment-account.json', 'permissions.json', 'requests.json',
      'sessions.json', 'summary.txt', 'transactions.json', 'transit-and-door-cards.json',
    ]);
    assert.equal(json('account.json').users[0].phone, h.phone);
    assert.deepEqual(json('account.json').profile_history.map((c: { field: string; new_value: string }) => [c.field, c.new_value]), [['nickname', '导出昵称']]);
    assert.ok(json('sessions.json').sessions.length >= 1);
    const account = json('payment-account.json').payment_accounts[0];
    assert.deepEqual([account.holder_name, account.id_number, account.aml_address], [h.name, h.idNumber, '北京市东城区导出测试路7号']);
    assert.equal(account.aml_id_photo_base64, pngBase64);
    assert.equal(json('cards.json').bound_cards[0].id, h.cardId);
    assert.equal(json('devices.json').devices[0].id, ids.device);
    assert.equal(json('devices.json').device_cards[0].id, ids.deviceCard);
    assert.equal(json('transit-and-door-cards.json').transit_cards[0].id, ids.transit);
    assert.equal(json('transit-and-door-cards.json').door_card_backups[0].id, ids.door);
    assert.ok(json('transactions.json').transactions.some((t: { id: string; amount_fen: string }) => t.id === ids.transaction && t.amount_fen === '1234'));
    assert.deepEqual(json('consents.json').purpose_consents.map((c: { purpose: string }) => c.purpose), ['marketing']);
    assert.equal(json('consents.json').policy_acceptances[0].version, '1.0');
    assert.equal(json('permissions.json').permission_records[0].permission, 'location');
    assert.ok(json('requests.json').privacy_requests.some((r: { id: string }) => r.id === ids.request));
    const summary = strFromU8(files['summary.txt']!);
    assert.match(summary, /payment-account\.json — .*payment_accounts: 1/);
    for (const file of Object.values(files)) {
      const text = strFromU8(file);
      assert.ok(!text.includes('$argon2'), 'no password hash');
      assert.ok(!/mps_[A-Za-z0-9_-]{20,}/.test(text), 'no session token');
    }

    // Nothing unsealed is kept at rest: no column of the export tables holds the ID number.
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from platform.data_exports where sections like ${`%${h.idNumber}%`}`.execute(system.database.forSchema('platform'));
    assert.equal(rows[0]!.n, 0);

    // Only the holder: another account cannot see or download it, and its own copy holds nothing of the first.
    const other = await openPaymentAccount(system, { name: '郑二' });
    const foreign = await download(other.token, asked.body.id, { password: 'correct-horse-9' });
    assert.deepEqual([foreign.statusCode, foreign.json().error.code], [404, 'not_found']);
    const theirs = await api('POST', '/v1/privacy/exports', { token: other.token });
    await system.platform.privacy.exports.runOnce();
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/sms-codes', { token: other.token, body: { phone: other.phone, purpose: 'privacy_export' } })).status, 202);
    const code = await latestSmsCode(system.platform.app, other.phone);
    const theirZip = await download(other.token, theirs.body.id, { sms_code: code });
    assert.equal(theirZip.statusCode, 200, theirZip.body);
    const all = Object.values(unzipSync(theirZip.rawPayload)).map((f) => strFromU8(f)).join('\n');
    assert.ok(all.includes(other.idNumber) && !all.includes(h.idNumber) && !all.includes(h.phone), 'only one\'s own data');
  });

  test('free once a month; the link expires after 7 days', async () => {
    const h = await openPaymentAccount(system);
    const first = await api('POST', '/v1/privacy/exports', { token: h.token });
    assert.equal(first.status, 202);
    const again = await api('POST', '/v1/privacy/exports', { token: h.token });
    assert.deepEqual([again.status, again.body.error.code], [429, 'export_limit_reached']);
    assert.equal(Date.parse(again.body.error.next_free_at), Date.parse(first.body.requested_at) + 30 * dayMs);
    await system.platform.privacy.exports.runOnce();
    system.clock.advance(7 * dayMs + 1000);
    const late = await download(h.token, first.body.id, { password: 'correct-horse-9' });
    assert.deepEqual([late.statusCode, late.json().error.code], [410, 'export_expired']);
    assert.equal((await api('GET', `/v1/privacy/exports/${first.body.id}`, { token: h.token })).body.status, 'expired');
    system.clock.advance(23 * dayMs);
    // Sessions last 30 days: log in again.
    const session = await api('POST', '/v1/sessions', { body: { phone: h.phone, password: 'correct-horse-9' } });
    assert.equal((await api('POST', '/v1/privacy/exports', { token: session.body.token })).status, 202, 'a month later it is free again');
  });
});
