// The transit domain end to end: a real phone (its state file), the platform and the operators
// over real HTTP, a real gate. Issue (fee paid through the ledger, refunded when issuance
// fails), top-up with every tear recovered, offline taps, upload, history merged, the one
// T-Union card rule, retired brands, logout keeping transit cards, auto top-up and the alert.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, openPaymentAccount, startTestSystem, type AccountHolder, type TestSystem } from '../../cli/test-system.ts';
import { transitOperatorKeys } from '../../cli/system.ts';
import { PlatformError } from '../../phone/errors.ts';
import { MiPhone } from '../../phone/phone.ts';
import { transitApplet, transitCards } from '../../phone/transit-cards.ts';
import { loadCard } from '../../phone/transit-load.ts';
import {
  afterTaps, closeTransitCard, issueTransitCard, moveTransitCardHere, recoverTopUps, returnTransitCardWithoutPhone, topUpTransitCard, transitHistory,
  transitSettings,
} from '../../phone/transit-wallet.ts';
import { createTransitGate } from '../../terminal/gate/setup.ts';
import { BRANDS, brandByCode } from '../../transit/brands.ts';
import { createHttpTransitClient } from '../../transit/client.ts';
import { transitApiKey } from '../../cli/system.ts';

const password = 'correct-horse-9';
/** The body of a 2xx answer; anything else fails the test with the platform's error. */
function ok(response: { status: number; body: any }): any {
  assert.ok(response.status >= 200 && response.status < 300, JSON.stringify(response.body));
  return response.body;
}
const card = (h: AccountHolder) => ({ kind: 'card' as const, card_id: h.cardId });

describe('transit cards through the wallet (real phone, platform and operators over HTTP)', () => {
  let system: TestSystem;
  let platformUrl: string;
  let dir: string;
  let counter = 0;
  before(async () => {
    system = await startTestSystem();
    platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'mipay-transit-'));
  });
  after(async () => {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function loggedInPhone(holder: AccountHolder): Promise<MiPhone> {
    const phone = await MiPhone.create({
      path: join(dir, `phone-${++counter}.se`), passphrase: 'transit passphrase', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: { n: 2 ** 10, r: 8, p: 1 },
    });
    await phone.logIn({ accountPhone: holder.phone, password });
    return phone;
  }
  const operator = () => createHttpTransitClient({ baseUrl: `http://127.0.0.1:${(system.transit.app.server.address() as { port: number }).port}`, apiKey: transitApiKey(system.keyring) });
  const gate = (brandCode: string, mode: Parameters<typeof createTransitGate>[0]['mode']) => createTransitGate({
    gateId: `g${++counter}`, brand: brandByCode(brandCode)!, brands: BRANDS, mode, terminalId: Buffer.from(`0100${String(counter).padStart(8, '0')}`, 'hex'),
    purchaseMasterKey: (code) => transitOperatorKeys(system.keyring).get(code)!.purchase, storePath: null, clock: system.clock.now,
  });
  const balanceOf = (phone: MiPhone) => transitCards(phone)[0]!.balanceFen;
  async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp) {
    await assert.rejects(promise, (e: unknown) => e instanceof PlatformError && e.code === code && (!message || message.test(e.message)));
  }

  test('issue, top up from a bound card, metro entry and exit offline, upload, history merged; a second T-Union card refused naming the brand; logout keeps it', async () => {
    const holder = await openPaymentAccount(system, { name: '孙七' });
    const phone = await loggedInPhone(holder);
    const issued = await issueTransitCard(phone, { brand: 'jjj', source: card(holder), paymentPassword: '135790' });
    assert.equal(issued.brandName, '京津冀互联互通卡');
    assert.equal(issued.express, true);
    const topped = await topUpTransitCard(phone, { cardId: issued.id, amountFen: 5_000n, source: card(holder), paymentPassword: '135790' });
    assert.equal(topped.balanceFen, 5_000n);
    // The money went to the operator through the ledger: a payment transaction in the user's history.
    const txns = (await apiClient(system.platform.app)('GET', '/v1/transactions', { token: holder.token })).body.data;
    assert.ok(txns.some((t: any) => t.type === 'payment' && t.amount_fen === 5_000 && t.status === 'succeeded' && /京津冀/.test(t.payee.name)));

    const entry = gate('jjj', { kind: 'metro-entry', station: 1 });
    const exit = gate('jjj', { kind: 'metro-exit', station: 5 });
    assert.equal((await entry.tap(transitApplet(phone, { screenOff: true }))).outcome, 'entered');
    assert.equal((await exit.tap(transitApplet(phone, { screenOff: true }))).outcome, 'charged');
    assert.equal(balanceOf(phone), 4_700n); // 苹果园 → 玉泉路, 6 km: ¥3
    const offline = await transitHistory(phone, issued.id, { online: false });
    assert.deepEqual(offline.map((r) => [r.kind, r.amountFen, r.source]), [['purchase', 300n, 'card'], ['purchase', 0n, 'card'], ['load', 5_000n, 'card']]);
    await entry.upload(operator());
    await exit.upload(operator());
    const online = await transitHistory(phone, issued.id, { online: true });
    assert.deepEqual(online.map((r) => [r.kind, r.amountFen, r.source]), [['purchase', 300n, 'settled'], ['purchase', 0n, 'settled'], ['load', 5_000n, 'settled']]);
    assert.match(online[0]!.description!, /苹果园 → 玉泉路/);

    await rejectsWith(issueTransitCard(phone, { brand: 'js-suzhou', source: card(holder), paymentPassword: '135790' }), 'transit_tunion_present', /京津冀互联互通卡/);
    await rejectsWith(issueTransitCard(phone, { brand: 'beijing', source: card(holder), paymentPassword: '135790' }), 'transit_brand_retired', /京津冀互联互通卡/);

    await phone.logOut();
    const reopened = await MiPhone.open(phone.path, 'transit passphrase');
    assert.equal(reopened.state.cards.length, 0);
    assert.deepEqual(transitCards(reopened).map((c) => [c.brandCode, c.balanceFen, c.status]), [['jjj', 4_700n, 'active']]);
    assert.equal((await exit.tap(transitApplet(reopened, { screenOff: true }))).outcome, 'charged'); // still pays at the gate
  });

  test('a top-up torn at each step is finished once: never lost, never doubled', async () => {
    const holder = await openPaymentAccount(system, { name: '周八' });
    const phone = await loggedInPhone(holder);
    const issued = await issueTransitCard(phone, { brand: 'shenzhentong', source: card(holder), paymentPassword: '135790' });
    const api = apiClient(system.platform.app);
    const pay = async (amountFen: number) => ok(await api('POST', `/v1/transit/cards/${issued.id}/top-ups`, {
      token: holder.token, headers: { 'idempotency-key': `transit-key-${++counter}` }, body: { amount_fen: amountFen, source: card(holder), payment_password: '135790' },
    }));
    const sign = (loadId: string) => async (r: any) => ok(await api('POST', `/v1/transit/top-ups/${loadId}/sign`, {
      token: holder.token, body: { balance_fen: Number(r.balanceFen), online_seq: r.onlineSeq, random: r.random, mac1: r.mac1, terminal_id: r.terminalId },
    }));
    // 1. Paid, then the phone died before loading.
    await pay(1_000);
    // 2. Paid and signed, the MAC2 lost before CREDIT.
    const second = await pay(2_000);
    await assert.rejects(loadCard(phone, { cardId: issued.id, loadId: second.id, amountFen: 2_000n, sign: async (r) => { await sign(second.id)(r); throw new Error('lost'); } }));
    assert.equal(balanceOf(phone), 0n);
    assert.equal(await recoverTopUps(phone, issued.id), 2);
    assert.equal(balanceOf(phone), 3_000n);
    // 3. Credited on the card, the TAC never reached the platform.
    const third = await pay(1_500);
    await loadCard(phone, { cardId: issued.id, loadId: third.id, amountFen: 1_500n, sign: async (r) => ({ loadId: third.id, ...(await sign(third.id)(r)) }) });
    assert.equal(balanceOf(phone), 4_500n);
    assert.equal(await recoverTopUps(phone, issued.id), 1);
    assert.equal(await recoverTopUps(phone, issued.id), 0);
    assert.equal(balanceOf(phone), 4_500n);
    const records = await operator().records(transitCards(phone)[0]!.cardNumber);
    assert.deepEqual(records.filter((r) => r.kind === 'load').map((r) => r.amountFen).sort(), [1_000n, 2_000n, 1_500n].sort());
  });

  test('auto top-up below the threshold and the low-balance alert, after taps', async () => {
    const holder = await openPaymentAccount(system, { name: '吴九' });
    const api = apiClient(system.platform.app);
    await api('POST', '/v1/top-ups', { token: holder.token, headers: { 'idempotency-key': `transit-key-${++counter}` }, body: { card_id: holder.cardId, amount_fen: 10_000, payment_password: '135790' } });
    const phone = await loggedInPhone(holder);
    const issued = await issueTransitCard(phone, { brand: 'wuhantong', source: { kind: 'balance' }, paymentPassword: '135790' });
    await topUpTransitCard(phone, { cardId: issued.id, amountFen: 1_000n, source: { kind: 'balance' }, paymentPassword: '135790' });
    await transitSettings(phone, { cardId: issued.id, autoTopUp: { belowFen: 900n, amountFen: 2_000n }, lowBalanceAlertFen: 950n });
    await gate('wuhantong', { kind: 'bus' }).tap(transitApplet(phone, { screenOff: true }));
    const result = await afterTaps(phone, { cardId: issued.id, paymentPassword: '135790' });
    assert.match(result.alert!, /below your alert of ¥9.50/);
    assert.equal(result.toppedUpFen, 2_000n);
    assert.equal(balanceOf(phone), 2_800n);
  });

  test('move a card to another phone: the old copy closed first, the balance it proved carried once, a forged or replayed close refused', async () => {
    const holder = await openPaymentAccount(system, { name: '冯十一' });
    const oldPhone = await loggedInPhone(holder);
    const issued = await issueTransitCard(oldPhone, { brand: 'shenzhentong', source: card(holder), paymentPassword: '135790' });
    await topUpTransitCard(oldPhone, { cardId: issued.id, amountFen: 3_000n, source: card(holder), paymentPassword: '135790' });
    const bus = gate('shenzhentong', { kind: 'bus' });
    assert.equal((await bus.tap(transitApplet(oldPhone, { screenOff: true }))).outcome, 'charged'); // ¥2, not uploaded yet
    const api = apiClient(system.platform.app);
    const close = (body: object) => api('POST', `/v1/transit/cards/${issued.id}/close`, {
      token: holder.token, headers: { 'idempotency-key': `transit-key-${++counter}` }, body: { reason: 'move', payment_password: '135790', ...body },
    });

    // Forged closes change nothing: no proof, a MAC that does not verify, more balance than the card can hold.
    assert.equal((await close({ proof: null })).body.error.code, 'transit_close_proof_invalid');
    const { challenge } = ok(await api('POST', `/v1/transit/cards/${issued.id}/close-challenge`, { token: holder.token, body: {} }));
    const forged = { balance_fen: 2_800, online_seq: 1, offline_seq: 1, challenge, mac: '00112233' };
    assert.equal((await close({ proof: forged })).body.error.code, 'transit_close_proof_invalid');
    assert.equal((await close({ proof: { ...forged, balance_fen: 90_000 } })).body.error.code, 'transit_close_proof_invalid');
    assert.equal(ok(await api('GET', '/v1/transit/cards', { token: holder.token })).data[0].status, 'active');
    assert.equal((await bus.tap(transitApplet(oldPhone, { screenOff: true }))).outcome, 'charged'); // still pays: ¥26 left

    const closed = await closeTransitCard(oldPhone, { cardId: issued.id, reason: 'move', paymentPassword: '135790' });
    assert.equal(closed.status, 'moved');
    assert.equal(closed.proven_balance_fen, 2_600);
    assert.deepEqual(transitCards(oldPhone), []); // gone from the old phone
    // The operator blacklisted the old card: a gate that refreshed its list refuses any copy of it.
    assert.ok((await operator().blacklist('shenzhentong')).includes(issued.cardNumber));

    // Listed as moved until its balance is on a card on another phone.
    assert.deepEqual(ok(await api('GET', '/v1/transit/cards', { token: holder.token })).data.map((c: any) => c.status), ['moved']);
    const newPhone = await loggedInPhone(holder);
    const moved = await moveTransitCardHere(newPhone, { cardId: issued.id });
    assert.equal(moved.carriedFen, 2_600n);
    assert.equal(moved.balanceFen, 2_600n);
    assert.notEqual(moved.cardNumber, issued.cardNumber);
    assert.equal((await gate('shenzhentong', { kind: 'bus' }).tap(transitApplet(newPhone, { screenOff: true }))).outcome, 'charged');
    // Carried once: a second move-in, onto any device, is refused; so is the old card's balance on another card at the operator.
    await rejectsWith(moveTransitCardHere(newPhone, { cardId: issued.id }), 'transit_move_refused');
    await assert.rejects(operator().issueCard({ brandCode: 'shenzhentong', requestId: `replay-${counter}`, carriedFrom: issued.cardNumber }),
      (e: any) => e.code === 'carry_refused');
    // The old phone's taps still upload and settle: the operator's books for the old card run out at zero.
    const upload = await bus.upload(operator());
    assert.equal(upload.settled, 2);
  });

  test('return a card: closed at once, balance refunded to what paid it once the settlement window is over; a lost phone\'s card returned from another', async () => {
    const holder = await openPaymentAccount(system, { name: '陈十二' });
    const api = apiClient(system.platform.app);
    await api('POST', '/v1/top-ups', { token: holder.token, headers: { 'idempotency-key': `transit-key-${++counter}` }, body: { card_id: holder.cardId, amount_fen: 10_000, payment_password: '135790' } });
    const phone = await loggedInPhone(holder);
    const issued = await issueTransitCard(phone, { brand: 'wuhantong', source: { kind: 'balance' }, paymentPassword: '135790' });
    await topUpTransitCard(phone, { cardId: issued.id, amountFen: 2_000n, source: { kind: 'balance' }, paymentPassword: '135790' });
    const bus = gate('wuhantong', { kind: 'bus' });
    await bus.tap(transitApplet(phone, { screenOff: true })); // ¥2
    const balance = async () => (await api('GET', '/v1/balance', { token: holder.token })).body.available_fen;
    assert.equal(await balance(), 8_000);

    const returned = await closeTransitCard(phone, { cardId: issued.id, reason: 'return', paymentPassword: '135790' });
    assert.equal(returned.status, 'returned');
    assert.equal(returned.proven_balance_fen, 1_800);
    assert.ok(returned.refund_after);
    // Listed as returned until the refund is made.
    assert.deepEqual(ok(await api('GET', '/v1/transit/cards', { token: holder.token })).data.map((c: any) => [c.id, c.status]), [[issued.id, 'returned']]);
    assert.equal(await system.platform.transit!.completeReturns(), 0); // the window is open: nothing yet
    assert.equal(await balance(), 8_000);
    await bus.upload(operator()); // the gate's tap arrives within the window

    system.clock.advance(8 * 86_400_000);
    assert.equal(await system.platform.transit!.completeReturns(), 1);
    assert.equal(await balance(), 9_800); // ¥20 loaded − ¥2 ridden
    assert.equal(await system.platform.transit!.completeReturns(), 0); // refunded once
    const card1 = ok(await api('GET', '/v1/transit/cards', { token: holder.token })).data;
    assert.deepEqual(card1, []); // a returned card is no longer listed

    // A lost phone: its card is returned from another phone, without a proof; the books decide.
    const lostPhone = await loggedInPhone(holder);
    const lost = await issueTransitCard(lostPhone, { brand: 'hefeitong', source: { kind: 'balance' }, paymentPassword: '135790' });
    await topUpTransitCard(lostPhone, { cardId: lost.id, amountFen: 1_000n, source: { kind: 'balance' }, paymentPassword: '135790' });
    const other = await loggedInPhone(holder);
    const byOther = await returnTransitCardWithoutPhone(other, { cardId: lost.id, paymentPassword: '135790' });
    assert.equal(byOther.proven_balance_fen, null);
    await rejectsWith(moveTransitCardHere(other, { cardId: lost.id }), 'transit_move_refused');
    system.clock.advance(8 * 86_400_000);
    assert.equal(await system.platform.transit!.completeReturns(), 1);
    assert.equal(await balance(), 9_800);
  });

  test('a fee is refunded when the operator fails to issue', async () => {
    const holder = await openPaymentAccount(system, { name: '郑十' });
    const api = apiClient(system.platform.app);
    await api('POST', '/v1/top-ups', { token: holder.token, headers: { 'idempotency-key': `transit-key-${++counter}` }, body: { card_id: holder.cardId, amount_fen: 10_000, payment_password: '135790' } });
    const phone = await loggedInPhone(holder);
    await (await import('../../phone/transit-wallet.ts')).transitBrands(phone); // brands cached
    await system.transit.app.close(); // the operator goes away
    await rejectsWith(issueTransitCard(phone, { brand: 'shanghai', source: { kind: 'balance' }, paymentPassword: '135790' }), 'transit_operator_unavailable');
    const balance = (await api('GET', '/v1/balance', { token: holder.token })).body;
    assert.equal(balance.available_fen, 10_000); // ¥20 fee taken, then refunded
    assert.deepEqual(transitCards(phone), []);
  });

});
