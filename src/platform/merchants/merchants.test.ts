import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { enqueueWebhook, webhookPolicy } from '../webhooks/outbox.ts';
import { signatureHeader, verifySignature } from '../webhooks/signature.ts';

describe('merchants, orders and webhook delivery', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  let endpoint: Server;
  let endpointUrl: string;
  const received: Array<{ body: string; signature: string | undefined }> = [];
  let answerStatus = 200;

  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
    endpoint = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        received.push({ body, signature: request.headers[signatureHeader] as string | undefined });
        response.writeHead(answerStatus).end();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    endpointUrl = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/hooks`;
  });
  after(async () => {
    await system.close();
    await new Promise((resolve) => endpoint.close(resolve));
  });

  async function merchant(webhookUrl?: string) {
    const created = await api('POST', '/v1/sandbox/merchants', { body: { name: '小米之家', mcc: '5732', ...(webhookUrl ? { webhook_url: webhookUrl } : {}) } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body as { id: string; api_key: string; webhook_secret: string; code: string };
  }

  test('a merchant is onboarded with an API key shown once; orders are idempotent by out_trade_no', async () => {
    const m = await merchant();
    assert.match(m.api_key, /^sk_/);
    assert.match(m.code, /^898310573[0-9]{6}$/);
    const me = await api('GET', '/v1/merchant', { token: m.api_key });
    assert.equal(me.status, 200);
    assert.equal(me.body.api_key, undefined);
    assert.equal(me.body.api_key_last4, m.api_key.slice(-4));
    assert.equal((await api('GET', '/v1/merchant', { token: 'sk_wrong' })).status, 401);

    const body = { out_trade_no: 'A-1001', amount_fen: 129_900, description: 'Redmi Note' };
    const first = await api('POST', '/v1/merchant/orders', { token: m.api_key, body });
    assert.deepEqual([first.status, first.body.status, first.body.amount_fen], [201, 'open', 129_900]);
    const again = await api('POST', '/v1/merchant/orders', { token: m.api_key, body });
    assert.deepEqual([again.status, again.body.id], [200, first.body.id]);
    const conflict = await api('POST', '/v1/merchant/orders', { token: m.api_key, body: { ...body, amount_fen: 1 } });
    assert.deepEqual([conflict.status, conflict.body.error.code, conflict.body.error.param], [409, 'order_conflict', 'out_trade_no']);
    const bad = await api('POST', '/v1/merchant/orders', { token: m.api_key, body: { ...body, out_trade_no: 'B-1', amount_fen: 0 } });
    assert.deepEqual([bad.status, bad.body.error.param], [400, 'amount_fen']);

    // Another merchant cannot read it; a logged-in user paying it can.
    const other = await merchant();
    assert.equal((await api('GET', `/v1/merchant/orders/${first.body.id}`, { token: other.api_key })).status, 404);
    const user = await signUpAndLogIn(system);
    const seen = await api('GET', `/v1/orders/${first.body.id}`, { token: user.token });
    assert.deepEqual([seen.status, seen.body.merchant_name, seen.body.mcc], [200, '小米之家', '5732']);

    system.clock.advance(901_000);
    assert.equal((await api('GET', `/v1/merchant/orders/${first.body.id}`, { token: m.api_key })).body.status, 'expired');
  });

  test('webhooks are signed, retried with backoff until the endpoint answers 2xx, and wait for an endpoint', async () => {
    const m = await merchant();
    const db = system.database.forSchema<any>('platform');
    await db.transaction().execute((trx: any) => enqueueWebhook(trx, { merchantId: m.id, type: 'order.paid', data: { order_id: 'ord_x' }, now: system.clock.now() }));
    // No endpoint yet: nothing is sent, the event waits.
    assert.equal(await system.platform.webhooks.runOnce(), 1);
    assert.equal(received.length, 0);
    assert.equal((await api('GET', '/v1/merchant/events', { token: m.api_key })).body.data[0].status, 'pending');

    await api('PUT', '/v1/merchant/webhook', { token: m.api_key, body: { url: endpointUrl } });
    system.clock.advance(webhookPolicy.noEndpointRetryMs);
    answerStatus = 500;
    assert.equal(await system.platform.webhooks.runOnce(), 1);
    assert.equal(received.length, 1);
    const failed = (await api('GET', '/v1/merchant/events', { token: m.api_key })).body.data[0];
    assert.deepEqual([failed.status, failed.attempts, failed.last_response_status], ['pending', 1, 500]);
    assert.equal(await system.platform.webhooks.runOnce(), 0, 'not due again before its backoff');

    answerStatus = 204;
    system.clock.advance(10_000);
    assert.equal(await system.platform.webhooks.runOnce(), 1);
    assert.equal(received.length, 2);
    const delivered = (await api('GET', '/v1/merchant/events', { token: m.api_key })).body.data[0];
    assert.deepEqual([delivered.status, delivered.attempts], ['delivered', 2]);
    const last = received[1]!;
    assert.equal(JSON.parse(last.body).type, 'order.paid');
    assert.deepEqual(verifySignature({ payload: last.body, header: last.signature, secret: m.webhook_secret, now: system.clock.now() }).ok, true);
    assert.equal(verifySignature({ payload: last.body, header: last.signature, secret: 'whsec_guess', now: system.clock.now() }).ok, false);
    system.clock.advance(3_600_000);
    assert.equal(await system.platform.webhooks.runOnce(), 0, 'a delivered event is not sent again');
  });
});
