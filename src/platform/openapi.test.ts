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

interface SchemaNode { description?: string; properties?: Record<string, SchemaNode>; items?: SchemaNode; anyOf?: SchemaNode[]; oneOf?: SchemaNode[]; allOf?: SchemaNode[]; $ref?: string }

/** Fields (request and answer) and parameters of a document that have no description, as `METHOD path: where.field`. */
function undescribedFields(doc: any): string[] {
  const missing: string[] = [];
  const walk = (node: SchemaNode | undefined, where: string): void => {
    if (!node || typeof node !== 'object') return;
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (!child.description && !child.$ref) missing.push(`${where}.${name}`);
      walk(child, `${where}.${name}`);
    }
    walk(node.items, `${where}[]`);
    for (const list of [node.anyOf, node.oneOf, node.allOf]) for (const child of list ?? []) walk(child, where);
  };
  for (const [path, operations] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(operations)) {
      const at = `${method.toUpperCase()} ${path}`;
      for (const p of op.parameters ?? []) if (!p.description) missing.push(`${at}: ${p.in} ${p.name}`);
      walk(op.requestBody?.content?.['application/json']?.schema, `${at}: body`);
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) walk(response.content?.['application/json']?.schema, `${at}: ${status}`);
    }
  }
  return missing;
}

test('the platform\'s and the banks\' documents are a contract: descriptions, declared errors, one error schema, security', async () => {
  for (const [party, app] of [['platform', system.platform.app], ['bank', system.bank.app]] as const) {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.deepEqual(app.errorContract.undeclaredRoutes, [], `${party}: every route declares its errors`);
    assert.ok(doc.components.schemas.Error, `${party}: the shared Error schema`);
    for (const [path, operations] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(operations)) {
        const at = `${party} ${method.toUpperCase()} ${path}`;
        assert.ok(op.summary && op.description, `${at} has a summary and a description`);
        const errorStatuses = Object.keys(op.responses).filter((s) => Number(s) >= 400);
        assert.ok(errorStatuses.includes('500'), `${at} lists its error responses`);
        for (const status of errorStatuses) {
          const media = op.responses[status].content['application/json'];
          assert.equal(media.schema.allOf[0].$ref, '#/components/schemas/Error', `${at} ${status} uses the Error schema`);
          for (const code of media.schema.allOf[1].properties.error.properties.code.enum) {
            assert.equal(media.examples[code].value.error.code, code, `${at} ${status} has an example of ${code}`);
          }
        }
        if (path.startsWith('/v1/card-') || path.startsWith('/v1/agreement')) {
          assert.deepEqual(op.security, [{ partner_key: [] }], `${at} needs the partner key`);
        }
      }
    }
    assert.deepEqual(undescribedFields(doc), [], `${party}: every field and parameter is described`);
  }
});

test('an operation lists the codes it can raise by status, from the catalogue', async () => {
  const doc = (await system.platform.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const topUp = doc.paths['/v1/top-ups'].post.responses;
  const codes = (status: string) => topUp[status].content['application/json'].schema.allOf[1].properties.error.properties.code.enum;
  assert.ok(codes('402').includes('card_declined'));
  assert.deepEqual(codes('401'), ['authentication_required']);
  assert.ok(codes('422').includes('idempotency_key_reused') && codes('422').includes('payment_password_wrong'));
  assert.ok(codes('415').includes('unsupported_media_type'));
  assert.match(topUp['402'].description, /`card_declined`: the bank declined the card movement/);
  const bankVerify = (await system.bank.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths['/v1/card-verifications'].post;
  assert.deepEqual(bankVerify.responses['401'].content['application/json'].schema.allOf[1].properties.error.properties.code.enum, ['unauthorized']);
});

test('HTTP behaviour on the platform: 405 with Allow, param is the field the caller sent, Chinese messages on request', async () => {
  const wrong = await system.platform.app.inject({ method: 'PUT', url: '/v1/balance' });
  assert.deepEqual([wrong.statusCode, wrong.headers.allow], [405, 'GET, HEAD']);
  const session = await system.platform.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: '13800138000', password: 'x' }, headers: { 'accept-language': 'zh-CN' } });
  assert.equal(session.statusCode, 401);
  const big = await system.platform.app.inject({ method: 'POST', url: '/v1/sandbox/merchants', payload: { name: 'x', mcc: '57' }, headers: { 'accept-language': 'zh' } });
  assert.deepEqual([big.json().error.param, big.json().error.message], ['mcc', '`mcc` 必须是4 位商户类别码（ISO 18245）。']);
});
