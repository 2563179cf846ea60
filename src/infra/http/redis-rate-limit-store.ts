import { Redis } from 'ioredis';
import type { RateLimitStore } from './rate-limit.ts';

// One round trip, atomic: the first hit of a window starts its expiry, later hits only count.
const hitScript = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { count, ttl }`;

/**
 * Rate-limit counts in Redis (`REDIS_URL`), shared by every platform process behind a load
 * balancer. Windows expire in Redis itself, so nothing needs pruning.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(url: string, options: { prefix?: string; connectTimeoutMs?: number } = {}) {
    this.#redis = new Redis(url, {
      lazyConnect: true, connectTimeout: options.connectTimeoutMs ?? 2_000, maxRetriesPerRequest: 2, enableOfflineQueue: true,
    });
    this.#redis.defineCommand('mipayRateLimitHit', { numberOfKeys: 1, lua: hitScript });
    this.#prefix = options.prefix ?? 'mipay:rate-limit:';
  }

  /** Connects and pings, so a wrong `REDIS_URL` fails at start rather than at the first login. */
  async connect(): Promise<void> {
    await this.#redis.connect();
    await this.#redis.ping();
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const run = (this.#redis as unknown as { mipayRateLimitHit(key: string, windowMs: number): Promise<[number, number]> }).mipayRateLimitHit;
    const [count, ttl] = await run.call(this.#redis, this.#prefix + key, windowMs);
    return { count, resetInMs: ttl };
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
