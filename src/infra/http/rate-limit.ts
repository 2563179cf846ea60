import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { commonErrors } from './errors.ts';

/**
 * Abuse limits per client address and per subnet (issue 10, section 7): fixed windows counted
 * in a store — memory by default, Redis when several platform processes must share the counts.
 */
export interface RateLimitStore {
  /** Counts one hit on `key` in its current window; answers the count so far and the time until the window ends. */
  hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  close(): Promise<void>;
}

export interface RateLimitRule {
  /** What is limited, e.g. `login`; part of the store key and of the refusal message. */
  name: string;
  perIp: { max: number; windowMs: number };
  /** The client's /24 (IPv4) or /64 (IPv6): one host rotating addresses in its own network. */
  perSubnet: { max: number; windowMs: number };
}

/** Counts in process memory; `entriesMax` bounds the map, expired windows are dropped first. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();
  readonly #clock: () => Date;
  readonly #entriesMax: number;

  constructor(options: { clock?: () => Date; entriesMax?: number } = {}) {
    this.#clock = options.clock ?? (() => new Date());
    this.#entriesMax = options.entriesMax ?? 100_000;
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const now = this.#clock().getTime();
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      if (!window && this.#windows.size >= this.#entriesMax) this.#evict(now);
      window = { count: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetInMs: window.endsAt - now };
  }

  /** Drops expired windows; if none expired, the oldest entries go (a flood of fresh addresses must not grow memory). */
  #evict(now: number): void {
    for (const [key, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(key);
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.#entriesMax) break;
      this.#windows.delete(key);
    }
  }

  async close(): Promise<void> {
    this.#windows.clear();
  }
}

/**
 * The network a client address belongs to for per-subnet limits: IPv4 /24, IPv6 /64. An
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is its IPv4 address.
 */
export function subnetOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  if (isIPv4(address)) return `${address.split('.').slice(0, 3).join('.')}.0/24`;
  assert.ok(isIPv6(address), `subnetOf: not an IP address: ${ip}`);
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

/** Applies rules to client addresses; a refusal is the catalogue's 429 `rate_limited` with `retry_after_s`. */
export class RateLimiter {
  readonly #store: RateLimitStore;

  constructor(store: RateLimitStore) {
    this.#store = store;
  }

  /** Counts one request from `ip` under `rule`; throws `rate_limited` when the address or its subnet is over its limit. */
  async check(rule: RateLimitRule, ip: string): Promise<void> {
    const subnet = subnetOf(ip);
    const [byIp, bySubnet] = await Promise.all([
      this.#store.hit(`${rule.name}:ip:${ip}`, rule.perIp.windowMs),
      this.#store.hit(`${rule.name}:net:${subnet}`, rule.perSubnet.windowMs),
    ]);
    const over = byIp.count > rule.perIp.max ? byIp : bySubnet.count > rule.perSubnet.max ? bySubnet : undefined;
    if (!over) return;
    const retryAfterS = Math.max(1, Math.ceil(over.resetInMs / 1000));
    const scope = over === byIp ? 'this address' : 'this network';
    throw commonErrors.rate_limited(`Too many ${rule.name} requests from ${scope}; try again in ${retryAfterS} s.`, undefined, { retry_after_s: retryAfterS });
  }

  /** A Fastify `onRequest` hook for one route: it runs before the body is read or parsed. */
  hook(rule: RateLimitRule) {
    return async (request: FastifyRequest): Promise<void> => this.check(rule, request.ip);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}

/**
 * The platform's limits. Per address they are what one person at one computer may need;
 * per subnet they leave room for an office or a carrier NAT, and stop one host hopping
 * addresses inside its /24 or /64.
 */
export const platformRateLimits = {
  login: { name: 'login', perIp: { max: 20, windowMs: 60_000 }, perSubnet: { max: 100, windowMs: 60_000 } },
  signUp: { name: 'sign-up', perIp: { max: 10, windowMs: 60_000 }, perSubnet: { max: 50, windowMs: 60_000 } },
  smsSend: { name: 'sms-code', perIp: { max: 10, windowMs: 60_000 }, perSubnet: { max: 50, windowMs: 60_000 } },
  passwordReset: { name: 'password-reset', perIp: { max: 10, windowMs: 600_000 }, perSubnet: { max: 20, windowMs: 600_000 } },
} as const satisfies Record<string, RateLimitRule>;
