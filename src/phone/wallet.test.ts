// The phone's online operations against a real in-process system: the platform listens on a
// real port and the phone talks to it with fetch, as a phone on the network does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, startTestSystem, type AccountHolder, type TestSystem } from '../cli/test-system.ts';
import { tokenMasterKey } from '../network/tsp/keys.ts';
import { checkArqc } from '../protocols/emv/online-cryptogram.ts';
import { readContactlessCard } from '../terminal/party.ts';
import { PhoneError, PlatformError, PlatformUnreachableError } from './errors.ts';
import { MiPhone } from './phone.ts';

const cheap = { n: 2 ** 10, r: 8, p: 1 };
const passphrase = 'phone passphrase 1';
const password = 'correct-horse-9';

describe('the phone online: log in, add a card, sync, settings, log out (real HTTP to a real platform)', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  let platformUrl: string;
  let dir: string;
  let counter = 0;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
    platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'mipay-wallet-'));
  });
  after(async () => {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newPhone(device: Record<string, unknown> = {}): Promise<MiPhone> {
    return MiPhone.create({
      path: join(dir, `phone-${++counter}.se`), passphrase, platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: cheap, device,
    });
  }

  /** Both steps of adding a card, the code read from the sandbox carrier; the clock moves on so the bank's SMS limits never bite. */
  async function addCard(phone: MiPhone, holder: AccountHolder, options: { finger?: string } = {}) {
    system.clock.advance(7 * 60_000);
    return phone.addCard({ card: holder.cardId, finger: options.finger ?? 'right-thumb', smsCode: () => latestSmsCode(system.platform.app, holder.reservedPhone) });
  }

  const tap = (phone: MiPhone, amountFen: bigint) => readContactlessCard(phone.paymentApplet(), { amountFen, type: 'purchase', now: system.clock.now(), terminalId: 'POS00001' });

  async function rejectsWithPlatform(promise: Promise<unknown>, code: string, param?: string): Promise<void> {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof PlatformError, `a PlatformError, not ${String(error)}`);
      assert.equal(error.code, code);
      if (param) assert.equal(error.param, param);
      assert.ok(error.message.includes(`[${code}`), 'the message names the code');
      return true;
    });
  }

  test('log in registers the phone with its public key; add-card signs a fingerprint statement, takes the bank\'s code, stores token + keys; the tap verifies under the TSP\'s keys, offline', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '钱二', separateReservedPhone: true });
    const phone = await newPhone();
    const { deviceId } = await phone.logIn({ accountPhone: holder.phone, password });
    const device = (await api('GET', `/v1/devices/${deviceId}`, { token: holder.token })).body;
    assert.deepEqual([device.device_id, device.model, device.nfc, device.secure_element, device.fingerprint_enrolled, device.find_device_on],
      [phone.state.device.hardwareId, 'Mi 9', true, true, true, true]);

    // A wrong finger stops adding a card before anything reaches the bank.
    system.clock.advance(7 * 60_000);
    await assert.rejects(phone.applyForCard({ card: holder.cardId, finger: 'left-index' }), (e: unknown) => e instanceof PhoneError && e.code === 'fingerprint_not_recognized');
    assert.equal(phone.state.pendingCard, null);

    const card = await addCard(phone, holder);
    assert.match(card.tokenNumber, /^62999[0-9]+$/);
    assert.notEqual(card.tokenLast4, holder.cardNumber.slice(-4));
    assert.equal(card.status, 'active');
    assert.deepEqual(card.luks.map((l) => l.atc), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(phone.state.pendingCard, null);
    const raw = readFileSync(phone.path, 'utf8');
    assert.ok(!raw.includes(card.tokenNumber) && !raw.includes(card.luks[0]!.key) && !raw.includes(holder.cardNumber), 'the state file shows nothing in clear');
    assert.ok(!raw.includes(phone.state.deviceKey.privateKeyPkcs8.slice(-40)) && !raw.includes(phone.state.session!.token), 'nor the device key or the session');
    const listed = (await api('GET', `/v1/device-cards?device_id=${deviceId}`, { token: holder.token })).body.data;
    assert.deepEqual(listed.map((c: any) => [c.id, c.status]), [[card.id, 'active']]);
    assert.deepEqual(phone.cards().map((c) => [c.id, c.tokenLast4, c.keysLeft, c.armed]), [[card.id, card.tokenLast4, 10, false]]);

    // Offline: the platform is unreachable from here on, and paying does not notice.
    phone.mutableState.platformUrl = 'http://127.0.0.1:1';
    phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
    const read = await tap(phone, 150_000n);
    assert.deepEqual([read.pan, read.cvm, read.atc], [card.tokenNumber, 'cdcvm', 1]);
    const masterKey = tokenMasterKey(system.tsp.keys, card.tokenNumber, card.panSequence);
    assert.equal(checkArqc({ icc: read.iccData, algorithm: 'tdes', cryptogramVersion: 1, cardMasterKey: masterKey, amountFen: 150_000n }).ok, true);
    await assert.rejects(phone.sync(), (e: unknown) => e instanceof PlatformUnreachableError && /paying does not/.test(e.message));
    phone.mutableState.platformUrl = platformUrl;
  });

  test('a wrong SMS code and an ineligible phone come back with the platform\'s code and param', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CCB', name: '孙三' });
    const old = await newPhone({ model: 'Mi 4' });
    await rejectsWithPlatform(old.logIn({ accountPhone: holder.phone, password }), 'device_not_eligible', 'model');
    await rejectsWithPlatform(old.logIn({ accountPhone: holder.phone, password: 'wrong-password' }), 'login_failed');

    const phone = await newPhone();
    await phone.logIn({ accountPhone: holder.phone, password });
    system.clock.advance(7 * 60_000);
    const pending = await phone.applyForCard({ card: holder.cardNumber.slice(-4), finger: 'right-thumb' });
    assert.match(pending.phoneMasked, /\*/);
    const code = await latestSmsCode(system.platform.app, holder.reservedPhone);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await rejectsWithPlatform(phone.confirmCard({ smsCode: wrong }), 'sms_code_wrong', 'sms_code');
    assert.ok(phone.state.pendingCard, 'the application stays, so the right code can still be sent');
    const card = await phone.confirmCard({ smsCode: code });
    assert.equal(card.status, 'active');
    await rejectsWithPlatform(phone.applyForCard({ card: holder.cardId, finger: 'right-thumb' }), 'device_card_exists', 'card_id');
  });

  test('sync: a suspended card cannot pay until resumed; low keys are replenished (ATCs continue); a deleted card is wiped with its keys', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '李四' });
    const phone = await newPhone();
    await phone.logIn({ accountPhone: holder.phone, password });
    const card = await addCard(phone, holder);

    assert.equal((await api('POST', `/v1/device-cards/${card.id}/suspend`, { token: holder.token })).status, 200);
    const suspended = await phone.sync();
    assert.deepEqual(suspended.statusChanged, [{ id: card.id, tokenLast4: card.tokenLast4, from: 'active', to: 'suspended' }]);
    assert.deepEqual(suspended.replenished, [], 'a suspended card gets no keys');
    assert.throws(() => phone.pay({ deviceCardId: card.id, finger: 'right-thumb' }), (e: unknown) => e instanceof PhoneError && e.code === 'card_not_active');

    assert.equal((await api('POST', `/v1/device-cards/${card.id}/resume`, { token: holder.token })).status, 200);
    for (let i = 0; i < 6; i++) {
      if (i === 0) assert.deepEqual((await phone.sync({ replenishBelow: 5 })).statusChanged.map((c) => c.to), ['active']);
      phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
      assert.equal((await tap(phone, 100n)).atc, i + 1);
    }
    assert.equal(phone.cards()[0]!.keysLeft, 4);
    const topped = await phone.sync();
    // Topped up to the week's stock (keysTargetDefault): 40 keys, ATCs continuing.
    assert.deepEqual(topped.replenished, [{ id: card.id, tokenLast4: card.tokenLast4, added: 36 }]);
    assert.deepEqual(phone.state.cards[0]!.luks.map((l) => l.atc), Array.from({ length: 40 }, (_, i) => i + 7));
    assert.deepEqual((await phone.sync()).replenished, [], 'enough keys: nothing asked');

    assert.equal((await api('DELETE', `/v1/device-cards/${card.id}`, { token: holder.token })).status, 200);
    phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
    const wiped = await phone.sync();
    assert.deepEqual(wiped.wiped, [{ id: card.id, tokenLast4: card.tokenLast4 }]);
    assert.deepEqual(phone.state.cards, []);
    assert.deepEqual(phone.state.pay, { selectedCardId: null, armedUntil: null }, 'the picked card went with it');
    const reopened = await MiPhone.open(phone.path, passphrase, { clock: system.clock.now });
    assert.deepEqual(reopened.state.cards, [], 'wiped on disk');
  });

  test('a device reported lost: sync suspends its cards on the phone; found again, sync resumes them and swaps every key for new ones', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '周五' });
    const phone = await newPhone();
    const { deviceId } = await phone.logIn({ accountPhone: holder.phone, password });
    const card = await addCard(phone, holder);
    assert.equal((await api('POST', `/v1/devices/${deviceId}/disable`, { token: holder.token })).status, 200);
    const result = await phone.sync();
    assert.deepEqual(result.statusChanged.map((c) => [c.id, c.to]), [[card.id, 'suspended']]);
    assert.deepEqual(result.keysRetired, [], 'suspended, not retired: the keys wait for the owner');
    assert.throws(() => phone.pay({ deviceCardId: card.id, finger: 'right-thumb' }), (e: unknown) => e instanceof PhoneError && e.code === 'card_not_active');

    assert.equal((await api('POST', `/v1/devices/${deviceId}/enable`, { token: holder.token, body: { password } })).status, 200);
    const oldKeys = phone.state.cards[0]!.luks.map((l) => l.key);
    const found = await phone.sync();
    assert.deepEqual(found.statusChanged.map((c) => [c.id, c.to]), [[card.id, 'active']]);
    assert.deepEqual(found.keysRetired, [{ id: card.id, tokenLast4: card.tokenLast4, dropped: 10 }]);
    assert.deepEqual(found.replenished, [{ id: card.id, tokenLast4: card.tokenLast4, added: 40 }]);
    assert.deepEqual(phone.state.cards[0]!.luks.map((l) => l.atc), Array.from({ length: 40 }, (_, i) => i + 11));
    assert.ok(phone.state.cards[0]!.luks.every((l) => !oldKeys.includes(l.key)));
    phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
    assert.equal((await tap(phone, 100n)).atc, 11);
  });

  test('find-device off: the platform deletes the bank cards and the phone wipes them; log out does the same and forgets the session', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '吴六' });
    const phone = await newPhone();
    const { deviceId } = await phone.logIn({ accountPhone: holder.phone, password });
    const first = await addCard(phone, holder);
    const off = await phone.updateSettings({ findDeviceOn: false });
    assert.deepEqual(off.wiped, [{ id: first.id, tokenLast4: first.tokenLast4 }]);
    assert.deepEqual(phone.state.cards, []);
    assert.equal((await api('GET', `/v1/device-cards/${first.id}`, { token: holder.token })).body.status, 'deleted');
    assert.equal((await api('GET', `/v1/devices/${deviceId}`, { token: holder.token })).body.find_device_on, false);
    system.clock.advance(7 * 60_000);
    await rejectsWithPlatform(phone.applyForCard({ card: holder.cardId, finger: 'right-thumb' }), 'device_not_ready', 'find_device_on');

    await phone.updateSettings({ findDeviceOn: true });
    const second = await addCard(phone, holder);
    const phoneSession = phone.state.session!.token;
    assert.deepEqual(await phone.logOut(), { wiped: 1 });
    assert.equal(phone.state.session, null);
    assert.deepEqual(phone.state.cards, []);
    assert.equal((await api('GET', `/v1/device-cards/${second.id}`, { token: holder.token })).body.status, 'deleted');
    assert.equal((await api('GET', '/v1/account', { token: phoneSession })).status, 401, 'the phone\'s session is gone');
    const again = await phone.logIn({ accountPhone: holder.phone, password });
    assert.equal(again.deviceId, deviceId, 'the phone stays registered');
    await assert.rejects(phone.logOut().then(() => phone.sync()), (e: unknown) => e instanceof PhoneError && e.code === 'not_logged_in');
  });
});
