import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  apiClient, openPaymentAccount, issueCard, latestSmsCode, proveFingerprint, provisionDeviceCard, registerDevice as registerPhone, replenishKeys, signUpAndLogIn, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';
import { buildRecommendedCryptogramData, generateApplicationCryptogram, verifyApplicationCryptogram } from '../../protocols/crypto/index.ts';
import { isLuhnValid } from '../../protocols/luhn.ts';
import { limitedUseKey, tokenMasterKey } from '../../network/tsp/keys.ts';

describe('device cards (token service)', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  type Holder = { token: string; idNumber: string; phone: string; name: string; first: string; firstCardId: string };

  /** A user with a payment account opened with a CCB debit card (bound as their first card). */
  async function holder(): Promise<Holder> {
    const h = await openPaymentAccount(system, { bank: 'CCB', name: '林十一', birthDate: '1988-03-03', balanceFen: 100_000, separateReservedPhone: true });
    return { token: h.token, idNumber: h.idNumber, phone: h.reservedPhone, name: h.name, first: h.cardNumber, firstCardId: h.cardId };
  }

  async function bindCard(h: Holder, card: { bank: string; kind?: 'debit' | 'credit'; brand?: 'unionpay' | 'visa' }): Promise<{ cardId: string; pan: string }> {
    const pan = await issueCard(system, { ...card, name: h.name, idNumber: h.idNumber, phone: h.phone });
    system.clock.advance(61_000);
    const applied = await api('POST', '/v1/cards/applications', { token: h.token, body: { card_number: pan, reserved_phone: h.phone } });
    assert.equal(applied.status, 201, JSON.stringify(applied.body));
    const bound = await api('POST', '/v1/cards', { token: h.token, body: { verification_id: applied.body.verification_id, sms_code: await latestSmsCode(system.platform.app, h.phone) } });
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    return { cardId: bound.body.id, pan };
  }

  const registerDevice = (token: string, overrides: Record<string, unknown> = {}) => registerPhone(system, token, overrides);
  const provision = (h: Holder, deviceId: string, cardId: string, options: { wrongCode?: boolean } = {}) =>
    provisionDeviceCard(system, { token: h.token, reservedPhone: h.phone }, deviceId, cardId, options);

  async function statusOf(token: string, deviceCardId: string): Promise<string> {
    return (await api('GET', `/v1/device-cards/${deviceCardId}`, { token })).body.status;
  }

  test('provision: ID&V by the bank\'s SMS code, an active token from the token BIN range, keys the TSP can check; no PAN anywhere but detokenize', async () => {
    const h = await holder();
    const deviceId = await registerDevice(h.token);
    const made = await provision(h, deviceId, h.firstCardId);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const tokenNumber: string = made.body.token_number;
    const pan = h.first;

    assert.match(tokenNumber, /^62999[0-9]/, 'token BIN 629990–629999');
    assert.ok(tokenNumber.length >= 16 && tokenNumber.length <= 19);
    assert.ok(isLuhnValid(tokenNumber));
    assert.notEqual(tokenNumber.slice(-4), pan.slice(-4));
    assert.notEqual(tokenNumber, pan);
    const card = made.body.device_card;
    assert.deepEqual([card.status, card.kind, card.bank_code, card.device_id, card.card_id], ['active', 'bank', 'CCB', deviceId, h.firstCardId]);
    assert.equal(card.pan_masked, `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`);
    assert.equal(card.token_masked, `${tokenNumber.slice(0, 6)}${'*'.repeat(tokenNumber.length - 10)}${tokenNumber.slice(-4)}`);

    // The first limited-use key batch: ATC 1–10, each key the EMV session key of the token's Option A master key.
    const batch = made.body.luk_batch;
    assert.deepEqual([batch.atc_first, batch.key_count, batch.keys.length, batch.algorithm], [1, 10, 10, 'tdes']);
    const keys = system.tsp.keys;
    const masterKey = tokenMasterKey(keys, tokenNumber, made.body.token_sequence);
    assert.equal(batch.keys[3].atc, 4);
    assert.equal(batch.keys[3].key, limitedUseKey(masterKey, 4).toString('hex'));
    // What the phone does at a tap, and what the TSP does to check it.
    const data = buildRecommendedCryptogramData({
      amountAuthorised: Buffer.from('000000001234', 'hex'), amountOther: Buffer.alloc(6), terminalCountryCode: Buffer.from('0156', 'hex'),
      terminalVerificationResults: Buffer.alloc(5), transactionCurrencyCode: Buffer.from('0156', 'hex'), transactionDate: Buffer.from('261122', 'hex'),
      transactionType: Buffer.from('00', 'hex'), unpredictableNumber: Buffer.from('11223344', 'hex'), applicationInterchangeProfile: Buffer.from('1980', 'hex'),
      applicationTransactionCounter: Buffer.from('0004', 'hex'), issuerApplicationData: Buffer.alloc(0),
    } as Parameters<typeof buildRecommendedCryptogramData>[0]);
    const arqc = generateApplicationCryptogram('tdes', Buffer.from(batch.keys[3].key, 'hex'), data);
    assert.ok(verifyApplicationCryptogram('tdes', limitedUseKey(masterKey, 4), data, arqc));

    const replenished = await replenishKeys(system, h.token, deviceId, card.id, { count: 5 });
    assert.equal(replenished.status, 201, JSON.stringify(replenished.body));
    assert.deepEqual([replenished.body.atc_first, replenished.body.key_count], [11, 5]);

    const events = await api('GET', `/v1/device-cards/${card.id}/events`, { token: h.token });
    assert.deepEqual(events.body.data.map((e: { to_status: string; reason: string }) => `${e.to_status}:${e.reason}`), ['inactive:provisioned', 'active:identity_verified']);
    assert.equal((await api('GET', `/v1/device-cards?device_id=${deviceId}`, { token: h.token })).body.data.length, 1);

    // The vault: the PAN only through detokenize; never in the tables in clear, a response or a log line.
    const opened = await system.tsp.detokenize(tokenNumber);
    assert.equal(opened?.pan, pan);
    assert.match(opened?.expiryYymm ?? '', /^[0-9]{4}$/);
    assert.equal(await system.tsp.detokenize('6299900000000000'), undefined);
    const db = system.database.forSchema<any>('platform');
    const tsp = system.database.forSchema<any>('tsp');
    const rows = [
      ...(await tsp.selectFrom('token_vault').selectAll().execute()), ...(await db.selectFrom('device_cards').selectAll().execute()),
      ...(await tsp.selectFrom('luk_batches').selectAll().execute()), ...(await tsp.selectFrom('tokens').selectAll().execute()),
    ];
    assert.equal(JSON.stringify(rows).includes(pan), false);
    assert.equal(JSON.stringify(rows).includes(batch.keys[0].key), false, 'limited-use keys are not stored');
    for (const response of [made, replenished, events]) assert.equal(JSON.stringify(response.body).includes(pan), false);
    assert.equal(system.logs.some((line) => line.includes(pan)), false, 'no log line holds the PAN');
  });

  test('refusals: VISA-only card, debit card of a credit-only bank, wrong SMS code, the same card twice on a device, a device not ready', async () => {
    const h = await holder();
    const deviceId = await registerDevice(h.token);
    const visa = await bindCard(h, { bank: 'NXB', kind: 'credit', brand: 'visa' });
    assert.match(visa.pan, /^438088/);
    const refusedVisa = await provision(h, deviceId, visa.cardId);
    assert.deepEqual([refusedVisa.status, refusedVisa.body.error.code, refusedVisa.body.error.param], [422, 'card_brand_not_supported', 'card_id']);
    const hxbDebit = await bindCard(h, { bank: 'HXB', kind: 'debit' });
    const refusedDebit = await provision(h, deviceId, hxbDebit.cardId);
    assert.deepEqual([refusedDebit.status, refusedDebit.body.error.code], [422, 'card_kind_not_supported']);
    const hxbCredit = await bindCard(h, { bank: 'HXB', kind: 'credit' });
    assert.equal((await provision(h, deviceId, hxbCredit.cardId)).status, 201, 'a credit-only bank\'s credit card is fine');

    const wrong = await provision(h, deviceId, h.firstCardId, { wrongCode: true });
    assert.deepEqual([wrong.status, wrong.body.error.code, wrong.body.error.param], [422, 'sms_code_wrong', 'sms_code']);
    assert.equal((await api('GET', `/v1/device-cards?device_id=${deviceId}`, { token: h.token })).body.data.length, 1, 'nothing was made');
    assert.equal((await provision(h, deviceId, h.firstCardId)).status, 201);
    const twice = await provision(h, deviceId, h.firstCardId);
    assert.deepEqual([twice.status, twice.body.error.code], [409, 'device_card_exists']);

    const noFingerprint = await registerDevice(h.token, { fingerprint_enrolled: false });
    const notReady = await provision(h, noFingerprint, h.firstCardId);
    assert.deepEqual([notReady.body.error.code, notReady.body.error.param], ['device_not_ready', 'fingerprint_enrolled']);
    const oldOs = await api('PATCH', `/v1/devices/${deviceId}`, { token: h.token, body: { os_version: '8.0.5.0' } });
    assert.deepEqual([oldOs.body.error.code, oldOs.body.error.param], ['device_not_eligible', 'os_version']);
    const stranger = await signUpAndLogIn(system);
    const foreign = await api('POST', '/v1/device-cards/applications', { token: stranger.token, body: { device_id: deviceId, card_id: h.firstCardId, biometric_nonce: 'n' } });
    assert.equal(foreign.status, 404);
  });

  test('adding a card spends a fingerprint proof of that device: verified, under 5 minutes old, once', async () => {
    const h = await holder();
    const deviceId = await registerDevice(h.token);
    const otherDevice = await registerDevice(h.token);
    const apply = (nonce: string | undefined, device = deviceId) => api('POST', '/v1/device-cards/applications', {
      token: h.token, body: { device_id: device, card_id: h.firstCardId, ...(nonce !== undefined ? { biometric_nonce: nonce } : {}) },
    });
    const required = (response: { status: number; body: any }) => assert.deepEqual(
      [response.status, response.body.error?.code, response.body.error?.param], [403, 'biometric_verification_required', 'biometric_nonce'],
    );
    const missing = await apply(undefined);
    assert.deepEqual([missing.status, missing.body.error.param], [400, 'biometric_nonce']);
    const unverified = await api('POST', `/v1/devices/${deviceId}/challenges`, { token: h.token });
    required(await apply(unverified.body.nonce));
    required(await apply(await proveFingerprint(system, h.token, otherDevice)));
    const stale = await proveFingerprint(system, h.token, deviceId);
    system.clock.advance(5 * 60_000 + 1);
    required(await apply(stale));

    const proof = await proveFingerprint(system, h.token, deviceId);
    assert.equal((await apply(proof)).status, 201);
    system.clock.advance(61_000);
    required(await apply(proof));
  });

  test('limits: 8 bank device cards per device, one card on 10 devices', async () => {
    const h = await holder();
    const wallet = await registerDevice(h.token);
    const cardIds = [h.firstCardId];
    for (let i = 0; i < 8; i++) cardIds.push((await bindCard(h, { bank: i % 2 === 0 ? 'CCB' : 'CMB', kind: 'debit' })).cardId);
    for (const cardId of cardIds.slice(0, 8)) assert.equal((await provision(h, wallet, cardId)).status, 201);
    const ninth = await provision(h, wallet, cardIds[8]!);
    assert.deepEqual([ninth.status, ninth.body.error.code, ninth.body.error.param], [422, 'device_cards_per_device_limit', 'device_id']);

    const card = cardIds[8]!;
    const devices: string[] = [];
    for (let i = 0; i < 11; i++) devices.push(await registerDevice(h.token));
    for (const deviceId of devices.slice(0, 10)) {
      const made = await provision(h, deviceId, card);
      assert.equal(made.status, 201, JSON.stringify(made.body));
    }
    const eleventh = await provision(h, devices[10]!, card);
    assert.deepEqual([eleventh.status, eleventh.body.error.code, eleventh.body.error.param], [422, 'card_devices_limit', 'card_id']);
    // Deleting it from one device makes room.
    const onFirst = (await api('GET', `/v1/device-cards?device_id=${devices[0]}`, { token: h.token })).body.data[0];
    assert.equal((await api('DELETE', `/v1/device-cards/${onFirst.id}`, { token: h.token })).body.status, 'deleted');
    assert.equal((await provision(h, devices[10]!, card)).status, 201);
  });

  test('lifecycle: a lost device suspends its cards at once; invalid transitions are refused; deleting the device deletes them', async () => {
    const h = await holder();
    const deviceId = await registerDevice(h.token);
    const other = await bindCard(h, { bank: 'CMB', kind: 'credit' });
    const a = (await provision(h, deviceId, h.firstCardId)).body.device_card.id;
    const b = (await provision(h, deviceId, other.cardId)).body.device_card.id;

    const suspended = await api('POST', `/v1/device-cards/${a}/suspend`, { token: h.token });
    assert.equal(suspended.body.status, 'suspended');
    const again = await api('POST', `/v1/device-cards/${a}/suspend`, { token: h.token });
    assert.deepEqual([again.status, again.body.error.code], [409, 'device_card_transition_invalid']);
    assert.equal((await api('POST', `/v1/device-cards/${a}/resume`, { token: h.token })).body.status, 'active');
    assert.equal((await replenishKeys(system, h.token, deviceId, a)).status, 201);

    assert.equal((await api('POST', `/v1/devices/${deviceId}/disable`, { token: h.token })).body.status, 'disabled');
    assert.deepEqual([await statusOf(h.token, a), await statusOf(h.token, b)], ['suspended', 'suspended']);
    const events = (await api('GET', `/v1/device-cards/${b}/events`, { token: h.token })).body.data;
    assert.deepEqual(events.at(-1), { ...events.at(-1), from_status: 'active', to_status: 'suspended', reason: 'device_lost', actor: 'user' });
    const resumeOnLost = await api('POST', `/v1/device-cards/${a}/resume`, { token: h.token });
    assert.equal(resumeOnLost.body.error.code, 'device_not_active');
    const keysOnLost = await replenishKeys(system, h.token, deviceId, a);
    assert.equal(keysOnLost.body.error.code, 'device_not_active');

    assert.equal((await api('DELETE', `/v1/devices/${deviceId}`, { token: h.token })).body.status, 'deleted');
    assert.deepEqual([await statusOf(h.token, a), await statusOf(h.token, b)], ['deleted', 'deleted']);
    const revived = await api('DELETE', `/v1/device-cards/${a}`, { token: h.token });
    assert.deepEqual([revived.status, revived.body.error.code], [409, 'device_card_transition_invalid']);
    // Unbinding a card from quick pay deletes its device cards.
    const d2 = await registerDevice(h.token);
    const onD2 = (await provision(h, d2, other.cardId)).body.device_card.id;
    assert.equal((await api('DELETE', `/v1/cards/${other.cardId}`, { token: h.token })).status, 200);
    assert.equal(await statusOf(h.token, onD2), 'deleted');
    assert.equal((await api('GET', `/v1/device-cards/${onD2}/events`, { token: h.token })).body.data.at(-1).reason, 'card_unbound');
    const live = await system.database.forSchema<any>('tsp').selectFrom('luk_batches').select('status')
      .where('token_ref_id', 'in', (eb: any) => eb.selectFrom('tokens').select('token_ref_id').where('wallet_card_id', 'in', [a, b])).execute();
    assert.ok(live.length > 0);
    assert.ok(live.every((row) => row.status === 'superseded'), 'a deleted card\'s keys are retired');
  });

  test('a lost device found again: the account password re-enables it, the cards its loss suspended resume, the keys it held are retired', async () => {
    const h = await holder();
    const deviceId = await registerDevice(h.token);
    const other = await bindCard(h, { bank: 'CMB', kind: 'credit' });
    const lostCard = (await provision(h, deviceId, h.firstCardId)).body.device_card.id;
    const userSuspended = (await provision(h, deviceId, other.cardId)).body.device_card.id;
    assert.equal((await api('POST', `/v1/device-cards/${userSuspended}/suspend`, { token: h.token })).status, 200);
    const liveBatches = async () => Object.fromEntries((await api('GET', `/v1/device-cards?device_id=${deviceId}`, { token: h.token })).body.data
      .map((c: { id: string; live_key_batches: string[] }) => [c.id, c.live_key_batches.length]));
    assert.deepEqual(await liveBatches(), { [lostCard]: 1, [userSuspended]: 1 });

    const notLost = await api('POST', `/v1/devices/${deviceId}/enable`, { token: h.token, body: { password: 'correct-horse-9' } });
    assert.deepEqual([notLost.status, notLost.body.error.code], [409, 'device_not_disabled']);
    assert.equal((await api('POST', `/v1/devices/${deviceId}/disable`, { token: h.token })).body.status, 'disabled');

    const wrong = await api('POST', `/v1/devices/${deviceId}/enable`, { token: h.token, body: { password: 'not-the-password-1' } });
    assert.deepEqual([wrong.status, wrong.body.error.code, wrong.body.error.param, wrong.body.error.tries_left], [403, 'password_wrong', 'password', 9]);
    assert.equal((await api('GET', `/v1/devices/${deviceId}`, { token: h.token })).body.status, 'disabled', 'a wrong password changes nothing');
    const missing = await api('POST', `/v1/devices/${deviceId}/enable`, { token: h.token, body: {} });
    assert.deepEqual([missing.status, missing.body.error.param], [400, 'password']);

    const found = await api('POST', `/v1/devices/${deviceId}/enable`, { token: h.token, body: { password: 'correct-horse-9' } });
    assert.deepEqual([found.status, found.body.status, found.body.disabled_at], [200, 'active', null]);
    assert.deepEqual([await statusOf(h.token, lostCard), await statusOf(h.token, userSuspended)], ['active', 'suspended'], 'only what the loss suspended resumes');
    const events = (await api('GET', `/v1/device-cards/${lostCard}/events`, { token: h.token })).body.data;
    assert.deepEqual(events.at(-1), { ...events.at(-1), from_status: 'suspended', to_status: 'active', reason: 'device_found', actor: 'user' });
    assert.deepEqual(await liveBatches(), { [lostCard]: 0, [userSuspended]: 0 }, 'the keys that were on the lost phone are retired');
    const fresh = await replenishKeys(system, h.token, deviceId, lostCard);
    assert.equal(fresh.status, 201);
    assert.deepEqual(await liveBatches(), { [lostCard]: 1, [userSuspended]: 0 });
    const twice = await api('POST', `/v1/devices/${deviceId}/enable`, { token: h.token, body: { password: 'correct-horse-9' } });
    assert.equal(twice.body.error.code, 'device_not_disabled');
  });

  test('find-device off deletes the device\'s bank cards; ending the session that registered the devices deletes theirs', async () => {
    const h = await holder();
    const first = await registerDevice(h.token);
    const second = await registerDevice(h.token);
    const third = await registerDevice(h.token);
    const onFirst = (await provision(h, first, h.firstCardId)).body.device_card.id;
    const onSecond = (await provision(h, second, h.firstCardId)).body.device_card.id;
    const onThird = (await provision(h, third, h.firstCardId)).body.device_card.id;

    const off = await api('PATCH', `/v1/devices/${first}`, { token: h.token, body: { find_device_on: false } });
    assert.deepEqual([off.status, off.body.find_device_on], [200, false]);
    assert.equal(await statusOf(h.token, onFirst), 'deleted');
    assert.equal(await statusOf(h.token, onSecond), 'active');

    assert.equal((await api('DELETE', '/v1/sessions/current', { token: h.token })).status, 204);
    const db = system.database.forSchema<any>('platform');
    const rows = await db.selectFrom('device_cards').select(['id', 'status', 'status_reason']).where('id', 'in', [onSecond, onThird]).execute();
    assert.deepEqual(rows.map((r) => `${r.status}:${r.status_reason}`), ['deleted:account_logout', 'deleted:account_logout']);
  });

  test('the bank reports the card lost: every device card of that PAN is suspended; only that bank may; found again → resumed', async () => {
    const h = await holder();
    const d1 = await registerDevice(h.token);
    const d2 = await registerDevice(h.token);
    const c1 = (await provision(h, d1, h.firstCardId)).body.device_card.id;
    const c2 = (await provision(h, d2, h.firstCardId)).body.device_card.id;
    const bank = (key: string | undefined, body: unknown) => api('POST', '/v1/bank/device-cards/actions', { body, ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}) });

    assert.equal((await bank(undefined, { pan: h.first, action: 'suspend', reason: 'card_lost' })).status, 401);
    const otherBank = await bank(system.platformBankKeys.CMB, { pan: h.first, action: 'suspend', reason: 'card_lost' });
    assert.deepEqual([otherBank.status, otherBank.body.affected], [200, 0]);
    assert.equal((await bank(system.platformBankKeys.CCB, { pan: h.first, action: 'freeze', reason: 'card_lost' })).body.error.param, 'action');

    const lost = await bank(system.platformBankKeys.CCB, { pan: h.first, action: 'suspend', reason: 'card_lost' });
    assert.deepEqual([lost.status, lost.body.affected], [200, 2], JSON.stringify(lost.body));
    assert.equal(JSON.stringify(lost.body).includes(h.first), false);
    assert.deepEqual([await statusOf(h.token, c1), await statusOf(h.token, c2)], ['suspended', 'suspended']);
    const events = (await api('GET', `/v1/device-cards/${c1}/events`, { token: h.token })).body.data;
    assert.deepEqual([events.at(-1).reason, events.at(-1).actor], ['card_lost', 'bank']);

    // d2 is reported lost meanwhile: the bank finding the card brings back only the card on d1.
    assert.equal((await api('POST', `/v1/devices/${d2}/disable`, { token: h.token })).status, 200);
    const found = await bank(system.platformBankKeys.CCB, { pan: h.first, action: 'resume', reason: 'card_found' });
    assert.equal(found.body.affected, 1);
    assert.deepEqual([await statusOf(h.token, c1), await statusOf(h.token, c2)], ['active', 'suspended']);
    const replaced = await bank(system.platformBankKeys.CCB, { pan: h.first, action: 'delete', reason: 'card_replaced' });
    assert.equal(replaced.body.affected, 2);
    assert.equal(system.logs.some((line) => line.includes(h.first)), false, 'the PAN the bank sent is not logged');
  });
});
