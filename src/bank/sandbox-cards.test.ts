import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, issueCard, newPhone, residentIdFor, startTestSystem, type TestSystem } from '../cli/test-system.ts';

describe('the bank\'s sandbox card desk', () => {
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem();
  });
  after(() => system.close());

  test('a card account shows its balance, limit and status, and follows the card\'s status', async () => {
    const bank = apiClient(system.bank.app);
    const cardNumber = await issueCard(system, { bank: 'CMB', kind: 'debit', name: '郑九', idNumber: residentIdFor('1991-09-09'), phone: newPhone(), balanceFen: 12_345 });
    const seen = await bank('POST', '/v1/sandbox/cards/account', { body: { card_number: cardNumber } });
    assert.equal(seen.status, 200);
    assert.deepEqual(seen.body, { card_number_last4: cardNumber.slice(-4), kind: 'debit', status: 'active', balance_fen: 12_345, credit_limit_fen: 0 });
    assert.equal((await bank('POST', '/v1/sandbox/cards/status', { body: { card_number: cardNumber, status: 'lost' } })).status, 200);
    assert.equal((await bank('POST', '/v1/sandbox/cards/account', { body: { card_number: cardNumber } })).body.status, 'lost');
  });

  test('an unknown or malformed card number is refused, naming the field', async () => {
    const bank = apiClient(system.bank.app);
    const unknown = await bank('POST', '/v1/sandbox/cards/account', { body: { card_number: '6225880000000000' } });
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.error.code, 'card_not_found');
    assert.equal(unknown.body.error.param, 'card_number');
    const malformed = await bank('POST', '/v1/sandbox/cards/account', { body: { card_number: '62258800' } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.param, 'card_number');
  });
});
