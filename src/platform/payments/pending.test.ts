import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  apiClient, openPaymentAccount, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';
import { assertLedgerInvariants } from '../ledger/invariants.ts';
import { pendingSettlementPolicy } from './pending.ts';

describe('when the bank does not answer', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem({ bankOverHttp: true });
    api = apiClient(system.platform.app);
  });
  after(async () => {
    await assertLedgerInvariants(system.database.forSchema('platform'));
    await system.close();
  });

  const holder = () => openPaymentAccount(system, { bank: 'SPDB', name: '郑二', birthDate: '1994-04-04', balanceFen: 500_000 });
  const post = (token: string, url: string, body: object, key: string = randomUUID()) => api('POST', url, { token, body, headers: { 'idempotency-key': key } });
  const cardBalance = async (cardNumber: string) => (await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen').where('pan', '=', cardNumber).executeTakeFirstOrThrow()).balance_fen as bigint;
  const balance = async (token: string) => (await api('GET', '/v1/balance', { token })).body;

  test('a top-up is accepted as pending, replayed as pending, and settled once when the bank is back', async () => {
    const h = await holder();
    system.bankLink.cut();
    const key = randomUUID();
    const accepted = await post(h.token, '/v1/top-ups', { card_id: h.cardId, amount_fen: 12_300, payment_password: '135790' }, key);
    assert.deepEqual([accepted.status, accepted.body.status], [202, 'pending']);
    const replay = await post(h.token, '/v1/top-ups', { card_id: h.cardId, amount_fen: 12_300, payment_password: '135790' }, key);
    assert.deepEqual([replay.status, replay.body.id, replay.headers['idempotent-replayed']], [202, accepted.body.id, 'true']);
    assert.equal((await balance(h.token)).available_fen, 0);

    assert.deepEqual(await system.platform.pendingSettlement.runOnce(), { settled: 0, stillPending: 0 }, 'too young to ask about');
    system.clock.advance(pendingSettlementPolicy.minAgeMs + 1);
    assert.deepEqual(await system.platform.pendingSettlement.runOnce(), { settled: 0, stillPending: 1 }, 'the bank is still unreachable');
    system.bankLink.restore();
    assert.deepEqual(await system.platform.pendingSettlement.runOnce(), { settled: 1, stillPending: 0 });
    assert.deepEqual(await system.platform.pendingSettlement.runOnce(), { settled: 0, stillPending: 0 });

    const settled = await api('GET', `/v1/transactions/${accepted.body.id}`, { token: h.token });
    assert.equal(settled.body.status, 'succeeded');
    assert.equal((await balance(h.token)).available_fen, 12_300);
    assert.equal(await cardBalance(h.cardNumber), 487_700n);
  });

  test('a withdrawal holds the balance while pending; a card payment keeps its order claimed; both settle', async () => {
    const h = await holder();
    assert.equal((await post(h.token, '/v1/top-ups', { card_id: h.cardId, amount_fen: 50_000, payment_password: '135790' })).status, 201);
    const merchant = (await api('POST', '/v1/sandbox/merchants', { body: { name: '7-Eleven', mcc: '5411' } })).body;
    const order = (await api('POST', '/v1/merchant/orders', { token: merchant.api_key, body: { out_trade_no: 'Q-1', amount_fen: 3_500, description: '饭团' } })).body;

    system.bankLink.cut();
    const out = await post(h.token, '/v1/withdrawals', { card_id: h.cardId, amount_fen: 20_000, payment_password: '135790' });
    assert.deepEqual([out.status, out.body.status], [202, 'pending']);
    assert.deepEqual(await balance(h.token), { available_fen: 30_000, pending_out_fen: 20_000, currency: 'CNY' });
    const paying = await post(h.token, `/v1/orders/${order.id}/pay`, { card_id: h.cardId, payment_password: '135790' });
    assert.deepEqual([paying.status, paying.body.transaction.status, paying.body.order.status], [202, 'pending', 'open']);
    const again = await post(h.token, `/v1/orders/${order.id}/pay`, { payment_password: '135790' });
    assert.deepEqual([again.status, again.body.error.code], [409, 'order_not_payable']);

    system.bankLink.restore();
    system.clock.advance(pendingSettlementPolicy.minAgeMs + 1);
    assert.deepEqual(await system.platform.pendingSettlement.runOnce(), { settled: 2, stillPending: 0 });
    assert.deepEqual(await balance(h.token), { available_fen: 30_000, pending_out_fen: 0, currency: 'CNY' });
    assert.equal((await api('GET', `/v1/merchant/orders/${order.id}`, { token: merchant.api_key })).body.status, 'paid');
    assert.equal(await cardBalance(h.cardNumber), 500_000n - 50_000n + 20_000n - 3_500n);
    const events = (await api('GET', '/v1/merchant/events', { token: merchant.api_key })).body.data;
    assert.deepEqual(events.map((e: { type: string }) => e.type), ['order.paid']);
  });
});
