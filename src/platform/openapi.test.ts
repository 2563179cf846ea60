import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestSystem, type TestSystem } from '../cli/test-system.ts';

let system: TestSystem;
before(async () => { system = await startTestSystem(); });
after(() => system.close());

test('the OpenAPI document describes every public route, with session security where needed', async () => {
  const doc = (await system.platform.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.equal(doc.openapi, '3.1.0');
  const expected: Array<[string, string, boolean]> = [
    ['/v1/sms-codes', 'post', false], ['/v1/accounts', 'post', false], ['/v1/sessions', 'post', false],
    ['/v1/sessions', 'get', true], ['/v1/sessions/current', 'delete', true], ['/v1/sessions/{id}', 'delete', true],
    ['/v1/account', 'get', true], ['/v1/payment-account/applications', 'post', true], ['/v1/payment-account', 'post', true],
    ['/v1/payment-account', 'get', true], ['/v1/payment-account/channels/applications', 'post', true],
    ['/v1/payment-account/channels', 'post', true], ['/v1/payment-account/aml', 'put', true],
    ['/v1/payment-account/password/verify', 'post', true], ['/v1/payment-account/password/reset', 'post', true],
    ['/v1/cards/applications', 'post', true], ['/v1/cards', 'post', true], ['/v1/cards', 'get', true],
    ['/v1/cards/{id}', 'get', true], ['/v1/cards/{id}', 'delete', true],
    ['/v1/balance', 'get', true], ['/v1/top-ups', 'post', true], ['/v1/withdrawals', 'post', true], ['/v1/transfers', 'post', true],
    ['/v1/orders/{id}', 'get', true], ['/v1/orders/{id}/pay', 'post', true], ['/v1/transactions', 'get', true],
    ['/v1/transactions/{id}', 'get', true], ['/v1/transactions.csv', 'get', true],
    ['/v1/merchant', 'get', true], ['/v1/merchant/webhook', 'put', true], ['/v1/merchant/orders', 'post', true],
    ['/v1/merchant/orders/{id}', 'get', true], ['/v1/merchant/orders/{id}/refunds', 'post', true], ['/v1/merchant/events', 'get', true],
    ['/v1/merchants', 'post', true], ['/v1/sandbox/merchants', 'post', false],
    ['/v1/sandbox/sms', 'get', false],
    ['/v1/payee-lookups', 'post', true], ['/v1/devices/{id}/fingerprint-payment', 'put', true],
    ['/v1/payment-certificates', 'post', true], ['/v1/payment-certificates', 'get', true], ['/v1/payment-certificates/{id}/revoke', 'post', true],
    ['/v1/payment-certificates/{id}/challenges', 'post', true], ['/v1/payment-certificates/ca', 'get', false],
  ];
  for (const [path, method, secured] of expected) {
    const operation = doc.paths[path]?.[method];
    assert.ok(operation, `${method.toUpperCase()} ${path} is documented`);
    assert.ok(operation.summary, `${method.toUpperCase()} ${path} has a summary`);
    assert.equal(Boolean(operation.security), secured, `${method.toUpperCase()} ${path} security`);
  }
  // Money-moving POSTs document their Idempotency-Key header.
  for (const path of ['/v1/top-ups', '/v1/withdrawals', '/v1/transfers', '/v1/orders/{id}/pay', '/v1/merchant/orders/{id}/refunds']) {
    const parameters: Array<{ in: string; name: string }> = doc.paths[path].post.parameters ?? [];
    assert.ok(parameters.some((p) => p.in === 'header' && p.name === 'idempotency-key'), `${path} documents Idempotency-Key`);
  }
  const applicationBody = doc.paths['/v1/payment-account/applications'].post.requestBody.content['application/json'].schema;
  assert.deepEqual(applicationBody.required.sort(), ['card_number', 'id_number', 'name', 'reserved_phone']);
  const transferBody = doc.paths['/v1/transfers'].post.requestBody.content['application/json'].schema;
  assert.deepEqual(transferBody.required.sort(), ['amount_fen', 'payee_confirmation']);
  assert.ok(transferBody.properties.fingerprint && transferBody.properties.certificate && transferBody.properties.card_id, 'a transfer documents its verifications and funding');
});

test('/healthz checks the database; /docs serves the docs UI', async () => {
  const health = await system.platform.app.inject({ method: 'GET', url: '/healthz' });
  assert.deepEqual(health.json(), { status: 'ok', party: 'platform', checks: { database: 'ok' } });
  assert.equal((await system.platform.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200);
  assert.equal((await system.bank.app.inject({ method: 'GET', url: '/healthz' })).json().party, 'bank');
});
