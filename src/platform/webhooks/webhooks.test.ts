// Webhook destinations (SSRF) and per-merchant delivery, end to end: merchants onboarded from a
// session over the API, real HTTP receivers on 127.0.0.1, the real dispatcher.
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { checkDestination, forbiddenAddressReason } from './destination.ts';
import { enqueueWebhook } from './outbox.ts';

interface Receiver { url: string; hits: number[]; close(): Promise<void> }

/** An HTTP endpoint on 127.0.0.1 that answers 200, or never answers when `hang`. */
async function receiver(options: { hang?: boolean } = {}): Promise<Receiver> {
  const hits: number[] = [];
  const server: Server = createServer((request, response) => {
    request.resume();
    hits.push(Date.now());
    if (!options.hang) response.writeHead(200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hooks`, hits, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** A host name other than `localhost` that DNS (here /etc/hosts) resolves to loopback, if this machine has one. */
async function loopbackName(): Promise<string | undefined> {
  const name = hostname();
  try {
    const found = await lookup(name, { all: true });
    return found.length > 0 && found.every((a) => forbiddenAddressReason(a.address, { allowLoopback: false }) === 'a loopback address') ? name : undefined;
  } catch {
    return undefined;
  }
}

const forbiddenUrls = [
  'http://127.1/hooks', 'http://0x7f000001/hooks', 'http://2130706433/hooks', 'http://0177.0.0.1/hooks', 'http://[::ffff:127.0.0.1]/hooks',
  'http://[::1]:8080/hooks', 'http://localhost/hooks', 'http://169.254.169.254/latest/meta-data/', 'http://metadata.google.internal/',
  'http://100.100.100.200/', 'http://10.0.0.5/hooks', 'http://172.16.9.9/hooks', 'http://192.168.1.1/hooks', 'http://100.64.0.1/hooks',
  'http://0.0.0.0/hooks', 'http://[fd00::1]/hooks', 'http://[fe80::1]/hooks', 'http://[64:ff9b::7f00:1]/hooks', 'http://[2002:7f00:1::]/hooks',
  'http://[::ffff:a9fe:a9fe]/', 'http://user:pw@93.184.215.14/hooks',
];

describe('webhook destinations (SSRF), production policy: no loopback', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  let token: string;

  before(async () => {
    system = await startTestSystem({ webhookAllowLoopback: false });
    api = apiClient(system.platform.app);
    token = (await signUpAndLogIn(system)).token;
  });
  after(() => system.close());

  const merchantRows = async () => Number((await system.database.forSchema<any>('platform').selectFrom('merchants')
    .select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow() as { n: string }).n);

  test('onboarding and changing the endpoint refuse every encoding of a non-public address; nothing is written', async (t) => {
    const name = await loopbackName();
    const urls = [...forbiddenUrls, ...(name ? [`http://${name}:9/hooks`] : [])];
    const rowsBefore = await merchantRows();
    for (const url of urls) {
      const refused = await api('POST', '/v1/merchants', { token, body: { name: 'Shop', mcc: '5411', webhook_url: url } });
      assert.deepEqual([refused.status, refused.body.error?.code, refused.body.error?.param], [422, 'webhook_url_forbidden', 'webhook_url'], url);
    }
    assert.equal(await merchantRows(), rowsBefore);
    const created = await api('POST', '/v1/merchants', { token, body: { name: 'Shop', mcc: '5411', webhook_url: 'https://93.184.215.14/hooks' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const url of urls) {
      const refused = await api('PUT', '/v1/merchant/webhook', { token: created.body.api_key, body: { url } });
      assert.deepEqual([refused.status, refused.body.error?.code, refused.body.error?.param], [422, 'webhook_url_forbidden', 'url'], url);
    }
    assert.equal((await api('GET', '/v1/merchant', { token: created.body.api_key })).body.webhook_url, 'https://93.184.215.14/hooks');
    if (!name) t.diagnostic('this machine has no host name resolving to loopback: the DNS case was not tried');
  });

  test('at delivery the address is checked again, on the connection itself (DNS rebinding): nothing reaches the loopback receiver', async (t) => {
    const local = await receiver();
    t.after(() => local.close());
    const created = await api('POST', '/v1/merchants', { token, body: { name: 'Rebound', mcc: '5411', webhook_url: 'https://93.184.215.14/hooks' } });
    const db = system.database.forSchema<any>('platform');
    // As if the name now resolved to 127.0.0.1: `localhost` reaches the check only through DNS here.
    const rebound = local.url.replace('127.0.0.1', 'localhost');
    await db.updateTable('merchants').set({ webhook_url: rebound }).where('id', '=', created.body.id).execute();
    await enqueueWebhook(db, { merchantId: created.body.id, type: 'order.paid', data: { n: 1 }, now: system.clock.now() });
    assert.equal(await system.platform.webhooks.runOnce(), 1);
    assert.equal(local.hits.length, 0);
    const event = await db.selectFrom('webhook_events').selectAll().where('merchant_id', '=', created.body.id).executeTakeFirstOrThrow();
    assert.equal(event.status, 'pending');
    assert.match(event.last_error, /loopback/);
  });

  test('merchants are onboarded only from a signed-in account, at most 5 per account', async () => {
    assert.equal((await api('POST', '/v1/merchants', { body: { name: 'Anon', mcc: '5411' } })).status, 401);
    const other = (await signUpAndLogIn(system)).token;
    for (let i = 0; i < 5; i++) assert.equal((await api('POST', '/v1/merchants', { token: other, body: { name: `M${i}`, mcc: '5411' } })).status, 201);
    const sixth = await api('POST', '/v1/merchants', { token: other, body: { name: 'M6', mcc: '5411' } });
    assert.deepEqual([sixth.status, sixth.body.error.code], [422, 'merchants_limit']);
  });
});

test('address classes: public addresses pass, the rest are named', async () => {
  const policy = { allowLoopback: false };
  for (const ok of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111']) assert.equal(forbiddenAddressReason(ok, policy), undefined, ok);
  assert.equal(forbiddenAddressReason('169.254.169.254', policy), 'a cloud metadata address');
  assert.equal(forbiddenAddressReason('::ffff:10.1.2.3', policy), 'a private, link-local, shared (CGNAT) or reserved address');
  assert.equal(forbiddenAddressReason('127.0.0.1', { allowLoopback: true }), undefined);
  assert.equal(forbiddenAddressReason('10.0.0.1', { allowLoopback: true }), 'a private, link-local, shared (CGNAT) or reserved address');
  await assert.rejects(checkDestination('http://localhost./x', policy), /loopback/);
});

describe('per-merchant delivery: a slow merchant does not delay another', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;

  before(async () => {
    system = await startTestSystem({ webhookAllowLoopback: true });
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  test('with one endpoint hanging, the other merchant\'s event arrives at once; the slow one fails after its own timeout', async (t) => {
    const slow = await receiver({ hang: true });
    const fast = await receiver();
    t.after(async () => {
      await slow.close();
      await fast.close();
    });
    const { token } = await signUpAndLogIn(system);
    const slowMerchant = (await api('POST', '/v1/merchants', { token, body: { name: 'Slow', mcc: '5411', webhook_url: slow.url } })).body;
    const fastMerchant = (await api('POST', '/v1/merchants', { token, body: { name: 'Fast', mcc: '5411', webhook_url: fast.url } })).body;
    const db = system.database.forSchema<any>('platform');
    // The slow merchant's events are older: a dispatcher working in order would reach them first.
    for (let i = 0; i < 3; i++) await enqueueWebhook(db, { merchantId: slowMerchant.id, type: 'order.paid', data: { i }, now: system.clock.now() });
    await enqueueWebhook(db, { merchantId: fastMerchant.id, type: 'order.paid', data: { i: 9 }, now: system.clock.now() });
    const started = Date.now();
    const pass = system.platform.webhooks.runOnce();
    while ((fast.hits.length === 0 || slow.hits.length === 0) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 10));
    const fastMs = fast.hits[0]! - started;
    assert.ok(fastMs < 1_000, `the fast merchant waited ${fastMs} ms`);
    assert.equal(slow.hits.length, 1, 'the slow merchant has one delivery in flight, not three');
    await pass;
    const slowMs = Date.now() - started;
    assert.ok(slowMs >= 4_500, `the slow delivery gave up after ${slowMs} ms, its timeout is 5 s`);
    const events = await db.selectFrom('webhook_events').select(['merchant_id', 'status', 'last_error']).where('merchant_id', 'in', [slowMerchant.id, fastMerchant.id]).execute();
    assert.deepEqual(events.filter((e: any) => e.merchant_id === fastMerchant.id).map((e: any) => e.status), ['delivered']);
    assert.ok(events.filter((e: any) => e.merchant_id === slowMerchant.id).every((e: any) => e.status === 'pending'));
  });
});
