import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, newPhone, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { assertLedgerInvariants } from '../ledger/invariants.ts';
import { payeeLookupPolicy } from './payees.ts';
import { pendingSettlementPolicy } from './pending.ts';

describe('transfers to a Mi account number, confirmed by masked name; card-funded under the bank\'s quick-pay limits', () => {
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

  const post = (token: string, url: string, body: object, key: string = randomUUID()) => api('POST', url, { token, body, headers: { 'idempotency-key': key } });
  const balance = async (token: string) => (await api('GET', '/v1/balance', { token })).body.available_fen as number;
  const miNumber = async (token: string) => (await api('GET', '/v1/account', { token })).body.mi_number as string;
  const lookUp = (token: string, body: object) => api('POST', '/v1/payee-lookups', { token, body });
  const cardBalance = async (cardNumber: string) => (await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen')
    .where('pan', '=', cardNumber).executeTakeFirstOrThrow()).balance_fen as bigint;

  test('the payer names the payee by Mi account number, sees *三, and the transfer spends that confirmation once', async () => {
    const a = await openPaymentAccount(system, { name: '李四', birthDate: '1991-01-01' });
    const b = await openPaymentAccount(system, { name: '张三', birthDate: '1992-02-02' });
    const [numberA, numberB] = [await miNumber(a.token), await miNumber(b.token)];
    assert.match(numberB, /^[1-9][0-9]{9}$/);
    assert.notEqual(numberA, numberB);
    assert.equal((await post(a.token, '/v1/top-ups', { card_id: a.cardId, amount_fen: 50_000, payment_password: '135790' })).status, 201);

    const found = await lookUp(a.token, { mi_number: numberB });
    assert.equal(found.status, 201, JSON.stringify(found.body));
    assert.deepEqual(found.body.payee, { name: '*三', account: `Mi Pay balance ${b.phone.slice(0, 3)}****${b.phone.slice(-4)}`, mi_number: numberB });
    assert.match(found.body.confirmation, /^pcf_/);
    const transfer = (confirmation: string, amountFen = 12_000) => post(a.token, '/v1/transfers', { payee_confirmation: confirmation, amount_fen: amountFen, payment_password: '135790' });
    const sent = await transfer(found.body.confirmation);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual([sent.body.payee.name, sent.body.funding_source, sent.body.channel, sent.body.card_id], ['*三', 'balance', 'balance', null]);
    assert.equal(await balance(b.token), 12_000);

    const replayed = await transfer(found.body.confirmation);
    assert.deepEqual([replayed.status, replayed.body.error.code, replayed.body.error.param], [422, 'payee_confirmation_invalid', 'payee_confirmation']);
    const stale = (await lookUp(a.token, { mi_number: numberB })).body.confirmation;
    system.clock.advance(payeeLookupPolicy.confirmationLifetimeMs + 1);
    assert.equal((await transfer(stale)).body.error.code, 'payee_confirmation_invalid', 'an expired confirmation');
    const byPhone = await lookUp(b.token, { phone: a.phone });
    assert.deepEqual([byPhone.status, byPhone.body.payee.name], [201, '*四']);
    assert.equal((await transfer(byPhone.body.confirmation)).body.error.code, 'payee_confirmation_invalid', 'another payer\'s confirmation');
    assert.equal(await balance(b.token), 12_000);
    assert.equal(await balance(a.token), 38_000);

    const self = await lookUp(a.token, { mi_number: numberA });
    assert.deepEqual([self.status, self.body.error.code], [422, 'payee_is_payer']);
    const unknown = await lookUp(a.token, { mi_number: numberB === '1000000000' ? '1000000001' : '1000000000' });
    assert.deepEqual([unknown.status, unknown.body.error.code, unknown.body.error.param], [404, 'payee_not_found', 'mi_number']);
    const both = await lookUp(a.token, { mi_number: numberB, phone: b.phone });
    assert.deepEqual([both.status, both.body.error.code], [400, 'parameter_invalid']);
    const noAccount = await signUpAndLogIn(system);
    assert.equal((await lookUp(noAccount.token, { mi_number: numberB })).body.error.code, 'payment_account_not_found', 'no look-ups without a payment account');
  });

  test('the look-up is no directory: 30 an hour per payer, found or not', async () => {
    const a = await openPaymentAccount(system, { name: '王五', birthDate: '1985-05-05' });
    for (let i = 0; i < payeeLookupPolicy.perHourMax; i++) assert.equal((await lookUp(a.token, { phone: newPhone() })).status, 404);
    const limited = await lookUp(a.token, { phone: newPhone() });
    assert.deepEqual([limited.status, limited.body.error.code], [429, 'rate_limited']);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    system.clock.advance(3_600_000);
    assert.equal((await lookUp(a.token, { phone: newPhone() })).status, 404);
  });

  test('a card-funded transfer: the bank debits the card under its own quick-pay limits, the ledger credits the payee', async () => {
    // 光大银行 (CEB) in the sandbox: ¥5,000 per debit, ¥10,000 a day per agreement.
    const a = await openPaymentAccount(system, { bank: 'CEB', name: '赵六', birthDate: '1980-06-06', balanceFen: 5_000_000 });
    const b = await openPaymentAccount(system, { name: '钱七', birthDate: '1981-07-07' });
    const numberB = await miNumber(b.token);
    // Large transfers to a new payee step up under risk control (src/platform/risk): each carries a fresh SMS code too.
    // And by day in Beijing: ¥5,000 between midnight and 6 a.m. is the night-time rule's, a second step-up.
    const beijingHour = (system.clock.now().getUTCHours() + 8) % 24;
    if (beijingHour < 7) system.clock.advance((10 - beijingHour) * 3_600_000);
    const paymentCode = async () => {
      system.clock.advance(61_000);
      assert.equal((await api('POST', '/v1/sms-codes', { token: a.token, body: { phone: a.phone, purpose: 'payment' } })).status, 202);
      return latestSmsCode(system.platform.app, a.phone);
    };
    const body = async (amountFen: number) => ({
      payee_confirmation: (await lookUp(a.token, { mi_number: numberB })).body.confirmation, amount_fen: amountFen, card_id: a.cardId, payment_password: '135790',
      sms_code: await paymentCode(),
    });
    const transfer = async (amountFen: number) => post(a.token, '/v1/transfers', await body(amountFen));

    const single = await transfer(500_001);
    assert.deepEqual([single.status, single.body.error.code, single.body.error.decline_code, single.body.error.limit_fen], [402, 'card_declined', 'quick_pay_single_limit', 500_000]);
    assert.match(single.body.error.message, /limit per payment is ¥5,000\.00/);
    const key = randomUUID();
    const firstBody = await body(500_000);
    const sent = await post(a.token, '/v1/transfers', firstBody, key);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual([sent.body.funding_source, sent.body.channel, sent.body.card_id, sent.body.payer.account, sent.body.payee.name],
      ['bank_card', 'quick_pay', a.cardId, `光大银行 ****${a.cardNumber.slice(-4)}`, '*七']);
    assert.match(sent.body.authorization.reference, /^btr_/);
    const replay = await post(a.token, '/v1/transfers', firstBody, key);
    assert.deepEqual([replay.status, replay.body.id, replay.headers['idempotent-replayed']], [201, sent.body.id, 'true'], 'moved once');
    assert.equal((await transfer(500_000)).status, 201);
    const daily = await transfer(1);
    assert.deepEqual([daily.body.error.decline_code, daily.body.error.limit_fen], ['quick_pay_daily_limit', 1_000_000]);
    const topUp = await post(a.token, '/v1/top-ups', { card_id: a.cardId, amount_fen: 1, payment_password: '135790' });
    assert.equal(topUp.body.error.decline_code, 'quick_pay_daily_limit', 'the bank\'s limit covers every quick-pay debit on the card');
    assert.equal(await cardBalance(a.cardNumber), 4_000_000n);
    assert.equal(await balance(b.token), 1_000_000);
    assert.equal(await balance(a.token), 0, 'the payer\'s balance is untouched');
    const failed = await api('GET', `/v1/transactions/${daily.body.error.transaction_id}`, { token: a.token });
    assert.deepEqual([failed.body.status, failed.body.failure_code, failed.body.funding_source], ['failed', 'card_declined:quick_pay_daily_limit', 'bank_card']);

    system.clock.advance(86_400_000);
    assert.equal((await transfer(300_000)).status, 201, 'a new bank day');
    const merchant = (await api('POST', '/v1/sandbox/merchants', { body: { name: '小米有品', mcc: '5399' } })).body;
    const order = (await api('POST', '/v1/merchant/orders', { token: merchant.api_key, body: { out_trade_no: 'Q-9', amount_fen: 600_000, description: '扫地机器人' } })).body;
    const pay = await post(a.token, `/v1/orders/${order.id}/pay`, { card_id: a.cardId, payment_password: '135790' });
    assert.deepEqual([pay.status, pay.body.error.decline_code, pay.body.error.limit_fen], [402, 'quick_pay_single_limit', 500_000]);
    assert.equal((await api('GET', `/v1/merchant/orders/${order.id}`, { token: merchant.api_key })).body.status, 'open', 'the order is given back');
  });

  test('the bank party itself refuses a debit over its limit, and keeps that refusal for the reference', async () => {
    const a = await openPaymentAccount(system, { bank: 'BOS', name: '孙八', birthDate: '1982-08-08', balanceFen: 1_000_000 });
    const card = await system.database.forSchema<any>('platform').selectFrom('bound_cards').select('agreement_id').where('id', '=', a.cardId).executeTakeFirstOrThrow();
    const reference = `ref_limit_${randomUUID()}`;
    const declined = await system.bank.settlement.transfer({ agreementId: card.agreement_id, direction: 'debit', amountFen: 200_001n, reference });
    assert.deepEqual([declined.status, declined.declineCode, declined.limitFen], ['declined', 'quick_pay_single_limit', 200_000n]);
    assert.deepEqual(await system.bank.settlement.findTransfer(reference), declined);
    const credit = await system.bank.settlement.transfer({ agreementId: card.agreement_id, direction: 'credit', amountFen: 1n, reference: `ref_credit_${randomUUID()}` });
    assert.notEqual(credit.declineCode, 'quick_pay_single_limit', 'limits bind debits only');
    const banks = (await apiClient(system.bank.app)('GET', '/v1/banks')).body.data;
    assert.deepEqual(banks.find((x: { code: string }) => x.code === 'BOS').quick_pay_limits, { single_fen_max: 200_000, daily_fen_max: 500_000 });
  });

  test('a bank debit whose ledger credit failed is finished by the pending settlement, once', async () => {
    const a = await openPaymentAccount(system, { bank: 'CMB', name: '周九', birthDate: '1983-09-09', balanceFen: 1_000_000 });
    const b = await openPaymentAccount(system, { name: '吴十', birthDate: '1984-10-10' });
    const confirmation = (await lookUp(a.token, { phone: b.phone })).body.confirmation;
    const ledger = system.platform.ledger;
    const createTransfer = ledger.createTransfer.bind(ledger);
    let failures = 0;
    // The ledger's database fails once, after the bank has debited the card.
    ledger.createTransfer = async (transfer) => {
      if (failures === 0 && transfer.debitAccountId?.startsWith('bank_settlement:')) {
        failures += 1;
        throw new Error('connection to the ledger lost');
      }
      return createTransfer(transfer);
    };
    try {
      const broken = await post(a.token, '/v1/transfers', { payee_confirmation: confirmation, amount_fen: 45_600, card_id: a.cardId, payment_password: '135790' });
      assert.equal(broken.status, 500);
    } finally {
      ledger.createTransfer = createTransfer;
    }
    assert.equal(await cardBalance(a.cardNumber), 954_400n, 'the bank debited the card');
    assert.equal(await balance(b.token), 0);
    const pending = (await api('GET', '/v1/transactions', { token: a.token })).body.data.find((t: { type: string }) => t.type === 'transfer');
    assert.equal(pending.status, 'pending');
    system.clock.advance(pendingSettlementPolicy.minAgeMs + 1);
    assert.deepEqual(await system.platform.pendingSettlement.runOnce(), { settled: 1, stillPending: 0 });
    assert.deepEqual(await system.platform.pendingSettlement.runOnce(), { settled: 0, stillPending: 0 });
    assert.equal((await api('GET', `/v1/transactions/${pending.id}`, { token: a.token })).body.status, 'succeeded');
    assert.equal(await balance(b.token), 45_600);
    assert.equal(await cardBalance(a.cardNumber), 954_400n, 'debited once');
  });
});
