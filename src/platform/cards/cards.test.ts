import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  apiClient, openPaymentAccount, issueCard, latestSmsCode, newPhone, residentIdFor, signUpAndLogIn, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';

describe('quick-pay bank cards', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  /** A user with an open payment account (CCB debit card), and their identity for more cards. */
  /** A user with an open payment account (CCB debit card), and their identity for more cards. */
  async function holder() {
    const h = await openPaymentAccount(system, { bank: 'CCB', name: '陈九', birthDate: '1991-07-07', balanceFen: 100_000, separateReservedPhone: true });
    return { token: h.token, idNumber: h.idNumber, phone: h.reservedPhone, name: h.name, first: h.cardNumber };
  }

  async function bind(h: { token: string; phone: string }, cardNumber: string) {
    system.clock.advance(61_000);
    const applied = await api('POST', '/v1/cards/applications', { token: h.token, body: { card_number: cardNumber, reserved_phone: h.phone } });
    if (applied.status !== 201) return applied;
    const code = await latestSmsCode(system.platform.app, h.phone);
    return api('POST', '/v1/cards', { token: h.token, body: { verification_id: applied.body.verification_id, sms_code: code } });
  }

  test('the card that opened the payment account is bound; more cards bind after the bank\'s SMS code; unbind ends the agreement', async () => {
    const h = await holder();
    const initial = await api('GET', '/v1/cards', { token: h.token });
    assert.equal(initial.body.data.length, 1);
    assert.deepEqual([initial.body.data[0].bank_code, initial.body.data[0].last4, initial.body.data[0].kind], ['CCB', h.first.slice(-4), 'debit']);
    assert.equal(initial.body.data[0].masked_number, `${h.first.slice(0, 6)}${'*'.repeat(h.first.length - 10)}${h.first.slice(-4)}`);

    const credit = await issueCard(system, { bank: 'CMB', kind: 'credit', name: h.name, idNumber: h.idNumber, phone: h.phone });
    const bound = await bind(h, credit);
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    assert.match(bound.body.id, /^card_/);
    assert.deepEqual([bound.body.bank_name, bound.body.kind, bound.body.last4], ['招商银行', 'credit', credit.slice(-4)]);
    assert.equal(JSON.stringify(bound.body).includes(credit), false);
    assert.equal((await api('GET', '/v1/cards', { token: h.token })).body.data.length, 2);
    assert.equal((await api('GET', `/v1/cards/${bound.body.id}`, { token: h.token })).body.id, bound.body.id);

    const twice = await bind(h, credit);
    assert.deepEqual([twice.status, twice.body.error.code], [409, 'card_already_bound']);
    const agreements = await system.database.forSchema<any>('bank').selectFrom('agreements').innerJoin('card_accounts', 'card_accounts.pan', 'agreements.pan')
      .select(['agreements.revoked_at']).where('card_accounts.pan', '=', credit).execute();
    assert.deepEqual(agreements.map((a) => a.revoked_at === null), [true, false], 'the redundant agreement was ended at the bank');

    const unbound = await api('DELETE', `/v1/cards/${bound.body.id}`, { token: h.token });
    assert.deepEqual([unbound.status, unbound.body.status], [200, 'unbound']);
    assert.equal((await api('GET', '/v1/cards', { token: h.token })).body.data.length, 1);
    const agreement = await system.database.forSchema<any>('bank').selectFrom('agreements').select('revoked_at').where('id', '=',
      (await system.database.forSchema<any>('platform').selectFrom('bound_cards').select('agreement_id').where('id', '=', bound.body.id).executeTakeFirstOrThrow()).agreement_id).executeTakeFirstOrThrow();
    assert.ok(agreement.revoked_at, 'the bank ended the agreement');
    assert.equal((await api('DELETE', `/v1/cards/${bound.body.id}`, { token: h.token })).status, 404);
    // Bound again after unbinding: a new agreement.
    assert.equal((await bind(h, credit)).status, 201);
  });

  test('refusals: no payment account, a card in another name, wrong code, another user\'s card id', async () => {
    const stranger = await signUpAndLogIn(system);
    const noAccount = await api('POST', '/v1/cards/applications', { token: stranger.token, body: { card_number: '6217000000000000000', reserved_phone: newPhone() } });
    assert.deepEqual([noAccount.status, noAccount.body.error.code], [400, 'card_number_invalid']);
    const h = await holder();
    const someoneElses = await issueCard(system, { bank: 'CEB', name: '孙十', idNumber: residentIdFor('1979-09-09'), phone: h.phone });
    const foreign = await bind(h, someoneElses);
    assert.deepEqual([foreign.status, foreign.body.error.code, foreign.body.error.param], [422, 'holder_name_mismatch', 'name']);
    const validButNoAccount = await api('POST', '/v1/cards/applications', { token: stranger.token, body: { card_number: h.first, reserved_phone: h.phone } });
    assert.deepEqual([validButNoAccount.status, validButNoAccount.body.error.code], [404, 'payment_account_not_found']);

    const mine = await issueCard(system, { bank: 'SPDB', name: h.name, idNumber: h.idNumber, phone: h.phone });
    system.clock.advance(61_000);
    const applied = await api('POST', '/v1/cards/applications', { token: h.token, body: { card_number: mine, reserved_phone: h.phone } });
    const code = await latestSmsCode(system.platform.app, h.phone);
    const wrong = await api('POST', '/v1/cards', { token: h.token, body: { verification_id: applied.body.verification_id, sms_code: code === '999999' ? '999998' : '999999' } });
    assert.deepEqual([wrong.status, wrong.body.error.code, wrong.body.error.tries_left], [422, 'sms_code_wrong', 4]);
    assert.equal((await api('GET', '/v1/cards', { token: h.token })).body.data.length, 1);

    const myCardId = (await api('GET', '/v1/cards', { token: h.token })).body.data[0].id;
    assert.equal((await api('DELETE', `/v1/cards/${myCardId}`, { token: stranger.token })).status, 404);
    assert.equal((await api('GET', `/v1/cards/${myCardId}`, { token: stranger.token })).status, 404);
  });
});
