// Issue 12, item 3: logging the PHONE out (its own logout, the user ending its session from
// elsewhere, or the session expiring) or turning its find-device off deletes that phone's bank
// device cards, on the platform (the TSP refuses them) and on the phone at its next contact;
// transit cards stay on the phone and the platform; a browser or API logout deletes no card.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, startTestSystem, type AccountHolder, type TestSystem } from '../cli/test-system.ts';
import { sessionLifetimeMs } from '../platform/accounts/service.ts';
import { PhoneError } from './errors.ts';
import { MiPhone } from './phone.ts';
import { transitCards } from './transit-cards.ts';
import { issueTransitCard } from './transit-wallet.ts';

const password = 'correct-horse-9';

describe('logout and find-device delete only the phone\'s own bank cards', () => {
  let system: TestSystem;
  let platformUrl: string;
  let dir: string;
  let counter = 0;

  before(async () => {
    system = await startTestSystem();
    platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'mipay-logout-'));
  });
  after(async () => {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function phoneWithCard(holder: AccountHolder): Promise<{ phone: MiPhone; cardId: string; deviceId: string }> {
    const phone = await MiPhone.create({
      path: join(dir, `phone-${++counter}.se`), passphrase: 'logout passphrase', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: { n: 2 ** 10, r: 8, p: 1 },
    });
    const { deviceId } = await phone.logIn({ accountPhone: holder.phone, password });
    system.clock.advance(7 * 60_000);
    const card = await phone.addCard({ card: holder.cardId, finger: 'right-thumb', smsCode: () => latestSmsCode(system.platform.app, holder.reservedPhone) });
    return { phone, cardId: card.id, deviceId };
  }
  const statusOf = async (holder: AccountHolder, id: string) => (await apiClient(system.platform.app)('GET', `/v1/device-cards/${id}`, { token: holder.token })).body.status;
  const sessionsOf = async (holder: AccountHolder) => (await apiClient(system.platform.app)('GET', '/v1/sessions', { token: holder.token })).body.data;

  test('a browser logout keeps every card; the phone\'s own logout deletes its bank cards only; its transit card stays', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '秦一' });
    const a = await phoneWithCard(holder);
    const b = await phoneWithCard(holder);
    const transit = await issueTransitCard(a.phone, { brand: 'jjj', source: { kind: 'card', card_id: holder.cardId }, paymentPassword: '135790' });

    // A browser (or curl) session of the same account logs out: no card anywhere is touched.
    const browser = (await apiClient(system.platform.app)('POST', '/v1/sessions', { body: { phone: holder.phone, password } })).body.token;
    assert.equal((await apiClient(system.platform.app)('DELETE', '/v1/sessions/current', { token: browser })).status, 204);
    assert.equal((await apiClient(system.platform.app)('DELETE', '/v1/sessions/current', { token: holder.token })).status, 204);
    const api = await openApiSession(holder);
    assert.equal(await statusOf(api, a.cardId), 'active');
    assert.equal(await statusOf(api, b.cardId), 'active');

    // Phone A logs out: its bank card goes, on the platform and on the phone; phone B's stays; the transit card stays.
    assert.deepEqual(await a.phone.logOut(), { wiped: 1 });
    assert.equal(await statusOf(api, a.cardId), 'deleted');
    assert.equal(await statusOf(api, b.cardId), 'active');
    assert.deepEqual(transitCards(a.phone).map((c) => c.id), [transit.id]);
    const onPlatform = (await apiClient(system.platform.app)('GET', '/v1/transit/cards', { token: api.token })).body.data;
    assert.ok(onPlatform.some((c: any) => c.id === transit.id && c.status === 'active'), 'the transit card stays on the platform');
    assert.equal((await b.phone.sync()).wiped.length, 0);
  });

  test('the user ends the phone\'s session from elsewhere: its bank cards are deleted, and the phone wipes them at its next contact', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '秦二' });
    const a = await phoneWithCard(holder);
    const b = await phoneWithCard(holder);
    const phoneSession = (await sessionsOf(holder)).find((s: any) => s.user_agent === 'mipay-phone/1' && !s.current);
    assert.ok(phoneSession);
    // The newest phone session is phone B's (listed newest first).
    assert.equal((await apiClient(system.platform.app)('DELETE', `/v1/sessions/${phoneSession.id}`, { token: holder.token })).status, 204);
    assert.equal(await statusOf(holder, b.cardId), 'deleted');
    assert.equal(await statusOf(holder, a.cardId), 'active');
    await assert.rejects(b.phone.sync(), (e: unknown) => e instanceof PhoneError && e.code === 'session_ended');
    assert.deepEqual(b.phone.state.cards, []);
    assert.equal(b.phone.state.session, null);

    // Logging in again makes the new session the phone's own (device-signed); a browser cannot claim it.
    await b.phone.logIn({ accountPhone: holder.phone, password });
    const claim = await apiClient(system.platform.app)('PUT', `/v1/devices/${a.deviceId}/session`, { token: holder.token, body: {} });
    assert.equal(claim.body.error.code, 'device_signature_required');
    assert.equal((await apiClient(system.platform.app)('DELETE', '/v1/sessions/current', { token: holder.token })).status, 204);
    assert.equal(await statusOf(await openApiSession(holder), a.cardId), 'active');
  });

  test('the phone\'s session expires: its bank cards are deleted; find-device off deletes them too', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '秦三' });
    const a = await phoneWithCard(holder);
    system.clock.advance(sessionLifetimeMs + 60_000);
    assert.ok(await system.platform.devices.endExpiredPhoneSessions() >= 1);
    const api = await openApiSession(holder);
    assert.equal(await statusOf(api, a.cardId), 'deleted');
    await assert.rejects(a.phone.sync(), (e: unknown) => e instanceof PhoneError && e.code === 'session_ended');
    assert.deepEqual(a.phone.state.cards, []);

    const b = await phoneWithCard({ ...holder, token: api.token });
    const off = await b.phone.updateSettings({ findDeviceOn: false });
    assert.deepEqual(off.wiped.map((w) => w.id), [b.cardId]);
    assert.equal(await statusOf(api, b.cardId), 'deleted');
  });

  async function openApiSession(holder: AccountHolder): Promise<AccountHolder> {
    const token = (await apiClient(system.platform.app)('POST', '/v1/sessions', { body: { phone: holder.phone, password } })).body.token;
    return { ...holder, token };
  }
});
