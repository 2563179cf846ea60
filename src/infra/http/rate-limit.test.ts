import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createLogger } from '../log/logger.ts';
import { MemoryRateLimitStore, RateLimiter, subnetOf, type RateLimitRule, type RateLimitStore } from './rate-limit.ts';
import { RedisRateLimitStore } from './redis-rate-limit-store.ts';
import { createHttpApp } from './server.ts';

const rule: RateLimitRule = { name: 'login', perIp: { max: 3, windowMs: 60_000 }, perSubnet: { max: 5, windowMs: 60_000 } };

test('subnetOf: IPv4 /24, IPv6 /64, IPv4-mapped IPv6 as IPv4', () => {
  assert.equal(subnetOf('203.0.113.77'), '203.0.113.0/24');
  assert.equal(subnetOf('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.equal(subnetOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(subnetOf('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(subnetOf('::1'), '0:0:0:0::/64');
});

/** A server with one limited route, driven by `inject` with the client address set per request. */
async function limitedApp(store: RateLimitStore) {
  const limiter = new RateLimiter(store);
  const app = await createHttpApp({ party: 'test', title: 't', description: 't', version: '0', logger: createLogger({ name: 'test', level: 'silent' }) });
  let handled = 0;
  app.post('/login', { onRequest: limiter.hook(rule) }, async () => {
    handled += 1;
    return { ok: true };
  });
  const post = (ip: string, payload: string = '{}') =>
    app.inject({ method: 'POST', url: '/login', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload });
  return { app, post, handled: () => handled };
}

function limiterSuite(name: string, makeStore: () => Promise<RateLimitStore | undefined>): void {
  describe(`rate limits with the ${name} store`, () => {
    test('one address is refused past its limit with 429 and Retry-After; another address is not', async (t) => {
      const store = await makeStore();
      if (!store) return t.skip('no Redis at REDIS_URL / 127.0.0.1:6379');
      const { app, post, handled } = await limitedApp(store);
      const ip = `198.51.${randomBytes(1)[0]}.10`;
      for (let i = 0; i < 3; i++) assert.equal((await post(ip)).statusCode, 200);
      const refused = await post(ip);
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json().error.code, 'rate_limited');
      const retryAfter = Number(refused.headers['retry-after'] ?? refused.json().error.retry_after_s);
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry after ${retryAfter}`);
      assert.equal(handled(), 3, 'the refused request never reached the handler');
      assert.equal((await post(`203.0.${randomBytes(1)[0]}.1`)).statusCode, 200);
      await app.close();
      await store.close();
    });

    test('addresses hopping inside one /24 are refused by the subnet limit', async (t) => {
      const store = await makeStore();
      if (!store) return t.skip('no Redis at REDIS_URL / 127.0.0.1:6379');
      const { app, post } = await limitedApp(store);
      const net = `192.0.${randomBytes(1)[0]}`;
      const statuses = [];
      for (let i = 1; i <= 7; i++) statuses.push((await post(`${net}.${i}`)).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      await app.close();
      await store.close();
    });

    test('the limit is checked before the body is parsed: an over-limit client with a broken body still gets 429', async (t) => {
      const store = await makeStore();
      if (!store) return t.skip('no Redis at REDIS_URL / 127.0.0.1:6379');
      const { app, post } = await limitedApp(store);
      const ip = `2001:db8:${randomBytes(2).toString('hex')}::7`;
      for (let i = 0; i < 3; i++) await post(ip);
      assert.equal((await post(ip, '{not json')).statusCode, 429);
      await app.close();
      await store.close();
    });
  });
}

limiterSuite('memory', async () => new MemoryRateLimitStore());

limiterSuite('Redis', async () => {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const store = new RedisRateLimitStore(url, { prefix: `mipay-test:${randomBytes(6).toString('hex')}:`, connectTimeoutMs: 1_000 });
  try {
    await store.connect();
    return store;
  } catch {
    await store.close();
    if (process.env.REDIS_URL) throw new Error(`REDIS_URL is set but Redis does not answer at ${url}`);
    return undefined;
  }
});

test('a memory window ends with its clock, and the store stays bounded under a flood of addresses', async () => {
  let now = Date.parse('2026-11-30T00:00:00Z');
  const store = new MemoryRateLimitStore({ clock: () => new Date(now), entriesMax: 100 });
  const limiter = new RateLimiter(store);
  for (let i = 0; i < 3; i++) await limiter.check(rule, '10.1.1.1');
  await assert.rejects(limiter.check(rule, '10.1.1.1'), { code: 'rate_limited' });
  now += 60_001;
  await limiter.check(rule, '10.1.1.1');
  for (let i = 0; i < 1_000; i++) await store.hit(`flood:${i}`, 60_000);
  const { count } = await store.hit('flood:999', 60_000);
  assert.equal(count, 2, 'recent entries survive eviction');
});
