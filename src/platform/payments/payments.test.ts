import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  apiClient, openPaymentAccount, issueCard, latestSmsCode, newPhone, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';
import { assertLedgerInvariants } from '../ledger/invariants.ts';

const pngBase64 = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(32, 1)]).toString('base64');

describe('payments: top-up, withdrawal, transfer, merchant orders, limits', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(async () => {
    await assertLedgerInvariants(system.database.forSchema('platform'));
    await system.close();
  });

  interface Holder { token: string; phone: string; cardId: string; cardNumber: string; idNumber: string; name: string }

  /** A Mi account with an open payment account, its CMB debit card (¥10,000 at the bank) bound. */
  async function holder(cardBalanceFen = 1_000_000): Promise<Holder> {
    return openPaymentAccount(system, { bank: 'CMB', name: '吴一', birthDate: '1993-03-03', balanceFen: cardBalanceFen });
  }

  const post = (token: string, url: string, body: object, key: string = randomUUID()) => api('POST', url, { token, body, headers: { 'idempotency-key': key } });
  const topUp = (h: Holder, amountFen: number, key?: string) => post(h.token, '/v1/top-ups', { card_id: h.cardId, amount_fen: amountFen, payment_password: '135790' }, key);
  /** The payer looks the payee up by phone and confirms the masked name: answers the confirmation a transfer carries. */
  const confirmPayee = async (token: string, phone: string) => {
    const found = await api('POST', '/v1/payee-lookups', { token, body: { phone } });
    return found.status === 201 ? found.body.confirmation as string : `unconfirmed:${found.body.error.code}`;
  };
  const balance = async (h: Holder) => (await api('GET', '/v1/balance', { token: h.token })).body.available_fen as number;
  const cardBalance = async (cardNumber: string) => (await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen').where('pan', '=', cardNumber).executeTakeFirstOrThrow()).balance_fen as bigint;

  test('top up from a card, withdraw to it: the bank and the ledger move together, once per Idempotency-Key', async () => {
    const h = await holder();
    const key = randomUUID();
    const first = await topUp(h, 50_000, key);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.deepEqual([first.body.type, first.body.status, first.body.channel, first.body.direction], ['top_up', 'succeeded', 'quick_pay', 'internal']);
    assert.equal(first.body.payer.account, `招商银行 ****${h.cardNumber.slice(-4)}`);
    assert.match(first.body.trace_id, /^req_/);
    const replay = await topUp(h, 50_000, key);
    assert.deepEqual([replay.status, replay.body.id, replay.headers['idempotent-replayed']], [201, first.body.id, 'true']);
    assert.equal(await balance(h), 50_000);
    assert.equal(await cardBalance(h.cardNumber), 950_000n);

    const out = await post(h.token, '/v1/withdrawals', { card_id: h.cardId, amount_fen: 20_000, payment_password: '135790' });
    assert.deepEqual([out.status, out.body.type, out.body.status], [201, 'withdrawal', 'succeeded']);
    assert.equal(await balance(h), 30_000);
    assert.equal(await cardBalance(h.cardNumber), 970_000n);

    const tooMuch = await post(h.token, '/v1/withdrawals', { card_id: h.cardId, amount_fen: 30_001, payment_password: '135790' });
    assert.deepEqual([tooMuch.status, tooMuch.body.error.code], [402, 'insufficient_balance']);
    const failed = await api('GET', `/v1/transactions/${tooMuch.body.error.transaction_id}`, { token: h.token });
    assert.deepEqual([failed.body.status, failed.body.failure_code], ['failed', 'insufficient_balance']);
    assert.equal(await balance(h), 30_000);
    assert.equal(await cardBalance(h.cardNumber), 970_000n);
  });

  test('top-ups and withdrawals to one\'s own card may pass ¥50,000; a balance payment may not', async () => {
    const h = await holder(10_000_000);
    const big = await topUp(h, 6_000_000);
    assert.deepEqual([big.status, big.body.amount_fen], [201, 6_000_000]);
    assert.equal((await post(h.token, '/v1/withdrawals', { card_id: h.cardId, amount_fen: 5_500_000, payment_password: '135790' })).status, 201);
    const tooBig = await topUp(h, 100_000_001);
    assert.deepEqual([tooBig.status, tooBig.body.error.param], [400, 'amount_fen']);
    const payee = await holder();
    const transfer = await post(h.token, '/v1/transfers', { payee_confirmation: await confirmPayee(h.token, payee.phone), amount_fen: 5_000_001, payment_password: '135790' });
    assert.deepEqual([transfer.status, transfer.body.error.param], [400, 'amount_fen']);
    assert.equal(await balance(h), 500_000);
  });

  test('refusals change nothing: wrong payment password, a declined card, no Idempotency-Key, someone else\'s card', async () => {
    const h = await holder(1_000);
    const before = (await api('GET', '/v1/transactions', { token: h.token })).body.data.length;
    const wrong = await post(h.token, '/v1/top-ups', { card_id: h.cardId, amount_fen: 500, payment_password: '246801' });
    assert.deepEqual([wrong.status, wrong.body.error.code], [422, 'payment_password_wrong']);
    const declined = await topUp(h, 5_000);
    assert.deepEqual([declined.status, declined.body.error.code, declined.body.error.decline_code], [402, 'card_declined', 'insufficient_funds']);
    assert.equal(await cardBalance(h.cardNumber), 1_000n);
    assert.equal(await balance(h), 0);
    const noKey = await api('POST', '/v1/top-ups', { token: h.token, body: { card_id: h.cardId, amount_fen: 500, payment_password: '135790' } });
    assert.deepEqual([noKey.status, noKey.body.error.param], [400, 'Idempotency-Key']);
    const other = await holder();
    const foreign = await post(other.token, '/v1/top-ups', { card_id: h.cardId, amount_fen: 500, payment_password: '135790' });
    assert.equal(foreign.status, 404);
    const zero = await topUp(h, 0);
    assert.deepEqual([zero.status, zero.body.error.param], [400, 'amount_fen']);
    const list = (await api('GET', '/v1/transactions', { token: h.token })).body.data;
    assert.equal(list.length, before + 1, 'only the declined top-up is recorded, as failed');
    assert.deepEqual([list[0].status, list[0].failure_code], ['failed', 'card_declined:insufficient_funds']);
  });

  test('transfer between Mi accounts; Class I allows ¥1,000 of balance payments in total, never a fen more', async () => {
    const a = await holder();
    const b = await holder();
    assert.equal((await topUp(a, 300_000)).status, 201);
    const transfer = async (amountFen: number, extra: object = {}) => post(a.token, '/v1/transfers', { payee_confirmation: await confirmPayee(a.token, b.phone), amount_fen: amountFen, payment_password: '135790', ...extra });
    const sent = await transfer(60_000, { note: '饭钱' });
    assert.deepEqual([sent.status, sent.body.type, sent.body.direction, sent.body.payee.account, sent.body.authorization.factors], [201, 'transfer', 'out', `Mi Pay balance ${b.phone.slice(0, 3)}****${b.phone.slice(-4)}`, 1]);
    assert.equal(await balance(b), 60_000);
    const received = (await api('GET', '/v1/transactions', { token: b.token })).body.data[0];
    assert.deepEqual([received.id, received.direction], [sent.body.id, 'in']);

    assert.equal((await transfer(40_000)).status, 201);
    const over = await transfer(1);
    assert.deepEqual([over.status, over.body.error.code, over.body.error.limit, over.body.error.remaining_fen], [403, 'limit_exceeded', 'class_I_since_opening', 0]);
    system.clock.advance(86_400_000);
    assert.equal((await transfer(1)).body.error.limit, 'class_I_since_opening', 'a since-opening limit does not reset with the day');
    // Withdrawals to one's own card are not balance payments.
    assert.equal((await post(a.token, '/v1/withdrawals', { card_id: a.cardId, amount_fen: 100_000, payment_password: '135790' })).status, 201);
    assert.equal(await balance(a), 100_000);

    const self = await api('POST', '/v1/payee-lookups', { token: a.token, body: { phone: a.phone } });
    assert.deepEqual([self.status, self.body.error.code], [422, 'payee_is_payer']);
    const nobody = await api('POST', '/v1/payee-lookups', { token: a.token, body: { phone: newPhone() } });
    assert.deepEqual([nobody.status, nobody.body.error.code, nobody.body.error.param], [404, 'payee_not_found', 'phone']);
  });

  test('Class II: ¥1,000 a day with one factor, ¥5,000 with an SMS code as the second', async () => {
    const a = await holder();
    const b = await holder();
    for (const bank of ['CCB', 'BOCOM']) {
      const card = await issueCard(system, { bank, name: a.name, idNumber: a.idNumber, phone: a.phone });
      system.clock.advance(61_000);
      const started = await api('POST', '/v1/payment-account/channels/applications', { token: a.token, body: { card_number: card, reserved_phone: a.phone } });
      const code = await latestSmsCode(system.platform.app, a.phone);
      assert.equal((await api('POST', '/v1/payment-account/channels', { token: a.token, body: { verification_id: started.body.verification_id, sms_code: code } })).status, 201);
    }
    const aml = { gender: 'male', occupation: '教师', nationality: 'CHN', id_type: 'resident_id', id_expiry: 'long_term', id_photo: { content_type: 'image/png', data_base64: pngBase64 }, address: '上海市黄浦区人民大道200号' };
    assert.equal((await api('PUT', '/v1/payment-account/aml', { token: a.token, body: aml })).body.class, 'II');
    assert.equal((await topUp(a, 1_000_000)).status, 201);

    const transfer = async (amountFen: number, smsCode?: string) => post(a.token, '/v1/transfers', {
      payee_confirmation: await confirmPayee(a.token, b.phone), amount_fen: amountFen, payment_password: '135790', ...(smsCode ? { sms_code: smsCode } : {}),
    });
    assert.equal((await transfer(100_000)).status, 201);
    const oneFactor = await transfer(1);
    assert.deepEqual([oneFactor.body.error.code, oneFactor.body.error.limit], ['limit_exceeded', 'daily_fewer_than_two_factors']);
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/sms-codes', { token: a.token, body: { phone: a.phone, purpose: 'payment' } })).status, 202);
    const code = await latestSmsCode(system.platform.app, a.phone);
    const twoFactors = await transfer(400_000, code);
    assert.deepEqual([twoFactors.status, twoFactors.body.authorization.method, twoFactors.body.authorization.factors], [201, 'payment_password+sms', 2]);
    system.clock.advance(61_000);
    await api('POST', '/v1/sms-codes', { token: a.token, body: { phone: a.phone, purpose: 'payment' } });
    const over = await transfer(1, await latestSmsCode(system.platform.app, a.phone));
    assert.deepEqual([over.body.error.code, over.body.error.limit], ['limit_exceeded', 'daily_two_factors']);
    system.clock.advance(86_400_000);
    assert.equal((await transfer(100_000)).status, 201, 'a new day, a new daily allowance');
  });

  test('a merchant order paid with the balance and with a card; refunds to where the money came from', async () => {
    const h = await holder();
    await topUp(h, 100_000);
    const merchant = (await api('POST', '/v1/sandbox/merchants', { body: { name: '小米之家', mcc: '5732' } })).body;
    const order = async (no: string, amountFen: number) => (await api('POST', '/v1/merchant/orders', { token: merchant.api_key, body: { out_trade_no: no, amount_fen: amountFen, description: '手环' } })).body;
    const pay = (orderId: string, body: object = {}) => post(h.token, `/v1/orders/${orderId}/pay`, { payment_password: '135790', ...body });

    const o1 = await order('P-1', 25_900);
    const paid = await pay(o1.id);
    assert.equal(paid.status, 201, JSON.stringify(paid.body));
    assert.deepEqual([paid.body.order.status, paid.body.transaction.merchant.name, paid.body.transaction.merchant.mcc, paid.body.transaction.channel], ['paid', '小米之家', '5732', 'balance']);
    assert.equal(await balance(h), 74_100);
    const again = await pay(o1.id);
    assert.deepEqual([again.status, again.body.error.code], [409, 'order_not_payable']);

    const o2 = await order('P-2', 50_000);
    const byCard = await pay(o2.id, { card_id: h.cardId });
    assert.deepEqual([byCard.status, byCard.body.transaction.channel], [201, 'quick_pay']);
    assert.equal(await cardBalance(h.cardNumber), 850_000n);

    const refund = (orderId: string, amountFen: number) => post(merchant.api_key, `/v1/merchant/orders/${orderId}/refunds`, { amount_fen: amountFen, reason: '七天无理由退货' });
    const part = await refund(o1.id, 10_000);
    assert.deepEqual([part.status, part.body.order.status, part.body.order.refunded_fen, part.body.transaction.type], [201, 'paid', 10_000, 'refund']);
    assert.equal(await balance(h), 84_100);
    const tooMuch = await refund(o1.id, 15_901);
    assert.deepEqual([tooMuch.status, tooMuch.body.error.code], [422, 'refund_exceeds_payment']);
    const rest = await refund(o1.id, 15_900);
    assert.equal(rest.body.order.status, 'refunded');
    const cardRefund = await refund(o2.id, 50_000);
    assert.equal(cardRefund.status, 201, JSON.stringify(cardRefund.body));
    assert.equal(await cardBalance(h.cardNumber), 900_000n);
    assert.equal(await balance(h), 100_000);

    const events = (await api('GET', '/v1/merchant/events', { token: merchant.api_key })).body.data.map((e: { type: string }) => e.type);
    assert.deepEqual(events.sort(), ['order.paid', 'order.paid', 'order.refunded', 'order.refunded', 'order.refunded'].sort());
    const mine = (await api('GET', '/v1/transactions?limit=3', { token: h.token })).body;
    assert.equal(mine.data[0].type, 'refund');
    assert.equal(mine.data[0].direction, 'in');
    assert.equal(mine.has_more, true);
  });

  test('history pages by cursor and exports CSV with every record field', async () => {
    const h = await holder();
    for (let i = 1; i <= 5; i++) assert.equal((await topUp(h, i * 100)).status, 201);
    const first = (await api('GET', '/v1/transactions?limit=2', { token: h.token })).body;
    assert.deepEqual([first.data.length, first.has_more, first.data[0].amount_fen], [2, true, 500]);
    const second = (await api('GET', `/v1/transactions?limit=2&starting_after=${first.data[1].id}`, { token: h.token })).body;
    assert.deepEqual(second.data.map((t: { amount_fen: number }) => t.amount_fen), [300, 200]);
    const last = (await api('GET', `/v1/transactions?limit=2&starting_after=${second.data[1].id}`, { token: h.token })).body;
    assert.deepEqual([last.data.length, last.has_more], [1, false]);
    const csv = await system.platform.app.inject({ method: 'GET', url: '/v1/transactions.csv', headers: { authorization: `Bearer ${h.token}` } });
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    const lines = csv.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    assert.equal(lines.length, 6);
    assert.equal(lines[0], 'id,created_at,completed_at,type,status,direction,amount_yuan,currency,channel,funding_source,interface_type,payer_name,payer_account,payee_name,payee_account,merchant_name,merchant_code,mcc,order_id,authorization,purpose,reason,failure_code,trace_id,'
      + 'refund_of,device_card_last4,response_code,decline_reason,terminal_id,rrn');
    assert.match(lines[1]!, /,top_up,succeeded,internal,5\.00,CNY,quick_pay,bank_card,api,\*一,招商银行 \*\*\*\*[0-9]{4},/);
    assert.equal(csv.body.includes(h.cardNumber), false);
  });

  test('concurrency: 100 withdrawals of the whole balance, one succeeds; 20 requests on one key, one movement; payments racing at the limit never pass it', async () => {
    const h = await holder();
    assert.equal((await topUp(h, 70_000)).status, 201);
    const withdrawals = await Promise.all(Array.from({ length: 100 }, () => post(h.token, '/v1/withdrawals', { card_id: h.cardId, amount_fen: 70_000, payment_password: '135790' })));
    assert.equal(withdrawals.filter((r) => r.status === 201).length, 1);
    assert.ok(withdrawals.filter((r) => r.status !== 201).every((r) => r.body.error.code === 'insufficient_balance'));
    assert.equal(await balance(h), 0);
    assert.equal(await cardBalance(h.cardNumber), 1_000_000n);

    const key = randomUUID();
    const same = await Promise.all(Array.from({ length: 20 }, () => topUp(h, 50_000, key)));
    assert.ok(same.every((r) => r.status === 201 || (r.status === 409 && r.body.error.code === 'idempotency_request_in_progress')));
    assert.equal(new Set(same.filter((r) => r.status === 201).map((r) => r.body.id)).size, 1);
    assert.equal(await balance(h), 50_000);
    assert.equal(await cardBalance(h.cardNumber), 950_000n);

    // The balance (¥1,500) would cover ten ¥150 transfers; Class I's ¥1,000 since opening allows six.
    assert.equal((await topUp(h, 100_000)).status, 201);
    const payee = await holder();
    const confirmations = await Promise.all(Array.from({ length: 20 }, () => confirmPayee(h.token, payee.phone)));
    const racing = await Promise.all(confirmations.map((c) => post(h.token, '/v1/transfers', { payee_confirmation: c, amount_fen: 15_000, payment_password: '135790' })));
    assert.equal(racing.filter((r) => r.status === 201).length, 6);
    assert.ok(racing.filter((r) => r.status !== 201).every((r) => r.body.error.code === 'limit_exceeded'));
    assert.equal(await balance(payee), 90_000);
    assert.equal(await balance(h), 60_000);
  });
});
