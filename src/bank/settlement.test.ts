import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { issueCard, newPhone, residentIdFor, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { createHttpBankClient, type BankClient } from './client.ts';

describe('quick-pay movements on agreements', () => {
  let system: TestSystem;
  let bankUrl: string;
  before(async () => {
    system = await startTestSystem({ bankOverHttp: true });
    bankUrl = `http://127.0.0.1:${(system.bank.app.server.address() as { port: number }).port}`;
  });
  after(() => system.close());

  /** A card with `balanceFen` and a confirmed agreement on it, made through the bank's own verification. */
  async function agreementOn(balanceFen: number, kind: 'debit' | 'credit' = 'debit') {
    const phone = newPhone();
    const idNumber = residentIdFor('1988-08-08');
    const cardNumber = await issueCard(system, { bank: 'CIB', kind, name: '周八', idNumber, phone, balanceFen });
    const started = await system.bank.service.startVerification({ cardNumber, holderName: '周八', idNumber, reservedPhone: phone, requester: 'usr_test', purpose: 'card_binding' });
    const code = (await system.sms.messagesTo(phone, 1))[0]!.text.match(/[0-9]{6}/)![0];
    const verified = await system.bank.service.confirmVerification({ verificationId: started.verificationId, code, requester: 'usr_test' });
    return { cardNumber, agreementId: verified.agreementId };
  }

  async function cardBalance(cardNumber: string): Promise<bigint> {
    const row = await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen').where('pan', '=', cardNumber).executeTakeFirstOrThrow();
    return row.balance_fen;
  }

  const transfers = () => system.bank.settlement;
  let referenceCounter = 0;
  const reference = () => `ref_${process.pid}_${++referenceCounter}_${Date.now()}`;

  test('a debit moves money from the card into the settlement account once per reference', async () => {
    const { cardNumber, agreementId } = await agreementOn(10_000);
    const partnerBefore = await transfers().partnerBalance();
    const ref = reference();
    const first = await transfers().transfer({ agreementId, direction: 'debit', amountFen: 2_500n, reference: ref });
    assert.equal(first.status, 'succeeded');
    const again = await transfers().transfer({ agreementId, direction: 'debit', amountFen: 2_500n, reference: ref });
    assert.deepEqual(again, first);
    assert.equal(await cardBalance(cardNumber), 7_500n);
    assert.equal(await transfers().partnerBalance(), partnerBefore + 2_500n);

    await assert.rejects(transfers().transfer({ agreementId, direction: 'debit', amountFen: 2_600n, reference: ref }), { code: 'reference_conflict' });
    await assert.rejects(transfers().transfer({ agreementId, direction: 'debit', amountFen: 0n, reference: reference() }), { code: 'bad_request' });
  });

  test('20 concurrent submissions of one reference move the money once', async () => {
    const { cardNumber, agreementId } = await agreementOn(10_000);
    const ref = reference();
    const results = await Promise.all(Array.from({ length: 20 }, () => transfers().transfer({ agreementId, direction: 'debit', amountFen: 1_000n, reference: ref })));
    assert.equal(new Set(results.map((r) => r.transferId)).size, 1);
    assert.equal(await cardBalance(cardNumber), 9_000n);
  });

  test('100 concurrent debits of the whole balance: exactly one succeeds, the rest are declined', async () => {
    const { cardNumber, agreementId } = await agreementOn(5_000);
    const results = await Promise.all(Array.from({ length: 100 }, () => transfers().transfer({ agreementId, direction: 'debit', amountFen: 5_000n, reference: reference() })));
    assert.equal(results.filter((r) => r.status === 'succeeded').length, 1);
    assert.ok(results.filter((r) => r.status === 'declined').every((r) => r.declineCode === 'insufficient_funds'));
    assert.equal(await cardBalance(cardNumber), 0n);
  });

  test('declines are outcomes: insufficient funds, lost card, revoked agreement; a declined reference stays declined', async () => {
    const { cardNumber, agreementId } = await agreementOn(100);
    const ref = reference();
    const declined = await transfers().transfer({ agreementId, direction: 'debit', amountFen: 101n, reference: ref });
    assert.deepEqual([declined.status, declined.declineCode], ['declined', 'insufficient_funds']);
    assert.equal(await cardBalance(cardNumber), 100n);
    assert.equal((await transfers().transfer({ agreementId, direction: 'debit', amountFen: 101n, reference: ref })).status, 'declined');

    await system.bank.service.setCardStatus(cardNumber, 'lost');
    assert.equal((await transfers().transfer({ agreementId, direction: 'debit', amountFen: 1n, reference: reference() })).declineCode, 'card_not_active');
    await system.bank.service.setCardStatus(cardNumber, 'active');
    await transfers().revokeAgreement(agreementId);
    await transfers().revokeAgreement(agreementId);
    assert.equal((await transfers().transfer({ agreementId, direction: 'debit', amountFen: 1n, reference: reference() })).declineCode, 'agreement_revoked');
    await assert.rejects(transfers().revokeAgreement('agr_unknown'), { code: 'agreement_not_found' });
  });

  test('a credit card debits against its credit limit; a credit needs money in the settlement account', async () => {
    const { cardNumber, agreementId } = await agreementOn(0, 'credit');
    const spent = await transfers().transfer({ agreementId, direction: 'debit', amountFen: 30_000n, reference: reference() });
    assert.equal(spent.status, 'succeeded');
    assert.equal(await cardBalance(cardNumber), -30_000n);
    const partner = await transfers().partnerBalance();
    const tooMuch = await transfers().transfer({ agreementId, direction: 'credit', amountFen: partner + 1n, reference: reference() });
    assert.deepEqual([tooMuch.status, tooMuch.declineCode], ['declined', 'settlement_insufficient']);
    const back = await transfers().transfer({ agreementId, direction: 'credit', amountFen: 30_000n, reference: reference() });
    assert.equal(back.status, 'succeeded');
    assert.equal(await cardBalance(cardNumber), 0n);
  });

  test('over HTTP with the partner key: move, look up by reference, unknown reference, bad key', async () => {
    const client: BankClient = createHttpBankClient({ baseUrl: bankUrl, partnerKey: system.bankPartnerKey });
    const { cardNumber, agreementId } = await agreementOn(8_000);
    const ref = reference();
    const moved = await client.transferOnAgreement({ agreementId, direction: 'debit', amountFen: 3_000n, reference: ref });
    assert.deepEqual([moved.status, moved.amountFen], ['succeeded', 3_000n]);
    assert.deepEqual(await client.findAgreementTransfer(ref), moved);
    assert.equal(await client.findAgreementTransfer(reference()), undefined);
    assert.equal(await cardBalance(cardNumber), 5_000n);
    const intruder = createHttpBankClient({ baseUrl: bankUrl, partnerKey: 'bpk_wrong' });
    await assert.rejects(intruder.transferOnAgreement({ agreementId, direction: 'debit', amountFen: 1n, reference: reference() }), { code: 'unauthorized' });
    await assert.rejects(client.transferOnAgreement({ agreementId: 'agr_nope', direction: 'debit', amountFen: 1n, reference: reference() }), { code: 'agreement_not_found' });
  });
});
