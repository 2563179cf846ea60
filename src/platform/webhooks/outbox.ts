import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import type { Logger } from '../../infra/log/logger.ts';
import { PeriodicJob } from '../../infra/periodic-job.ts';
import type { PlatformTables } from '../tables.ts';
import { postWebhook } from './delivery.ts';
import type { DestinationPolicy } from './destination.ts';
import { signatureHeader, signatureHeaderValue } from './signature.ts';

export type WebhookEventType = 'order.paid' | 'order.refunded';

/** Delivery policy: at most 12 attempts over about a day, 5 s per attempt. */
export const webhookPolicy = {
  attemptsMax: 12,
  timeoutMs: 5_000,
  /** While one dispatcher delivers an event, others leave it alone for this long. */
  leaseMs: 30_000,
  batchMax: 20,
  /**
   * Events of one merchant delivered one after another in a pass; merchants are delivered side
   * by side, so a slow endpoint holds up only its own events. 4 × 5 s stays inside the lease.
   */
  perMerchantBatchMax: 4,
  /** Merchants with deliveries in flight at once, per dispatcher. */
  merchantsInFlightMax: 32,
  /** A merchant without an endpoint yet: look again in 10 minutes. */
  noEndpointRetryMs: 10 * 60_000,
} as const;

export function backoffMs(attempts: number): number {
  return Math.min(3_600_000, 10_000 * 2 ** Math.max(0, attempts - 1));
}

/** Adds an event to the outbox inside the caller's transaction: it exists exactly when the change it reports does. */
export async function enqueueWebhook(trx: Kysely<PlatformTables>, input: { merchantId: string; type: WebhookEventType; data: Record<string, unknown>; now: Date }): Promise<string> {
  const id = newId('evt');
  const payload = JSON.stringify({ id, type: input.type, created_at: input.now.toISOString(), data: input.data });
  await trx.insertInto('webhook_events').values({
    id, merchant_id: input.merchantId, type: input.type, payload, status: 'pending', attempts: 0, next_attempt_at: input.now,
    last_response_status: null, last_error: null, created_at: input.now, delivered_at: null,
  }).execute();
  return id;
}

/**
 * Delivers due outbox events to merchants' endpoints, signed (signature.ts), retrying with
 * exponential backoff. The HTTP call happens outside any transaction: an event is first leased
 * (its next attempt pushed forward), then delivered, then its outcome written. Each merchant
 * has at most one delivery in flight, and merchants are served side by side: a merchant whose
 * endpoint hangs delays only its own events, by at most the timeout.
 */
export class WebhookDispatcher {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;
  readonly #logger: Logger;
  readonly #job: PeriodicJob;
  readonly #policy: DestinationPolicy;
  readonly #timeoutMs: number;
  /** Merchants with a delivery in flight, and the work that delivers their leased events. */
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(db: Kysely<PlatformTables>, clock: () => Date, logger: Logger, options: { allowLoopback?: boolean; timeoutMs?: number } = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#logger = logger;
    this.#policy = { allowLoopback: options.allowLoopback === true };
    this.#timeoutMs = options.timeoutMs ?? webhookPolicy.timeoutMs;
    // The periodic pass only leases and starts deliveries; it does not wait for a slow endpoint.
    this.#job = new PeriodicJob('webhooks', async () => void (await this.#pass()), logger);
  }

  /** One pass over due events, waiting for the deliveries it started; answers how many were attempted. */
  async runOnce(): Promise<number> {
    const { attempted, deliveries } = await this.#pass();
    await Promise.all(deliveries);
    return attempted;
  }

  async #pass(): Promise<{ attempted: number; deliveries: Promise<void>[] }> {
    const room = webhookPolicy.merchantsInFlightMax - this.#inFlight.size;
    if (room <= 0) return { attempted: 0, deliveries: [] };
    const now = this.#clock();
    const busy = [...this.#inFlight.keys()];
    const leased = await this.#db.transaction().execute(async (trx) => {
      let query = trx.selectFrom('webhook_events').select(['id', 'merchant_id']).where('status', '=', 'pending').where('next_attempt_at', '<=', now);
      if (busy.length > 0) query = query.where('merchant_id', 'not in', busy);
      const due = await query.orderBy('next_attempt_at').limit(webhookPolicy.batchMax).forUpdate().skipLocked().execute();
      const perMerchant = new Map<string, number>();
      const chosen = due.filter((d) => {
        const count = perMerchant.get(d.merchant_id) ?? 0;
        if (count >= webhookPolicy.perMerchantBatchMax || (count === 0 && perMerchant.size >= room)) return false;
        perMerchant.set(d.merchant_id, count + 1);
        return true;
      });
      if (chosen.length === 0) return [];
      return trx.updateTable('webhook_events').set({ next_attempt_at: new Date(now.getTime() + webhookPolicy.leaseMs) })
        .where('id', 'in', chosen.map((d) => d.id)).returningAll().execute();
    });
    const byMerchant = new Map<string, PlatformTables['webhook_events'][]>();
    for (const event of leased.sort((a, b) => a.created_at.getTime() - b.created_at.getTime())) {
      byMerchant.set(event.merchant_id, [...(byMerchant.get(event.merchant_id) ?? []), event]);
    }
    const deliveries = [...byMerchant].map(([merchantId, events]) => {
      const work = (async () => {
        for (const event of events) await this.#deliver(event);
      })().catch((error: unknown) => this.#logger.error({ err: error, merchant: merchantId }, 'webhook delivery crashed'))
        .finally(() => this.#inFlight.delete(merchantId));
      this.#inFlight.set(merchantId, work);
      return work;
    });
    return { attempted: leased.length, deliveries };
  }

  async #deliver(event: PlatformTables['webhook_events']): Promise<void> {
    const merchant = await this.#db.selectFrom('merchants').select(['webhook_url', 'webhook_secret']).where('id', '=', event.merchant_id).executeTakeFirstOrThrow();
    const now = this.#clock();
    if (!merchant.webhook_url) {
      await this.#db.updateTable('webhook_events').set({ next_attempt_at: new Date(now.getTime() + webhookPolicy.noEndpointRetryMs), last_error: 'no webhook endpoint configured' })
        .where('id', '=', event.id).execute();
      return;
    }
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await postWebhook(merchant.webhook_url, {
        headers: { 'content-type': 'application/json', [signatureHeader]: signatureHeaderValue(merchant.webhook_secret, event.payload, now), 'user-agent': 'MiPayOpen-Webhooks/1' },
        body: event.payload, timeoutMs: this.#timeoutMs, policy: this.#policy,
      });
    } catch (cause) {
      error = (cause as Error).message.slice(0, 200);
    }
    const attempts = event.attempts + 1;
    const delivered = status !== null && status >= 200 && status < 300;
    await this.#db.updateTable('webhook_events').set({
      attempts, last_response_status: status, last_error: delivered ? null : error ?? `HTTP ${status}`,
      status: delivered ? 'delivered' : attempts >= webhookPolicy.attemptsMax ? 'failed' : 'pending',
      delivered_at: delivered ? this.#clock() : null,
      next_attempt_at: new Date(this.#clock().getTime() + (delivered ? 0 : backoffMs(attempts))),
    }).where('id', '=', event.id).execute();
    if (!delivered) this.#logger.warn({ event: event.id, attempts, status, error }, 'webhook delivery failed');
  }

  /** Runs passes every `intervalMs` until `stop()`. */
  start(intervalMs: number = 1_000): void {
    this.#job.start(intervalMs);
  }

  /** Stops the passes and waits for the deliveries in flight. */
  async stop(): Promise<void> {
    await this.#job.stop();
    await Promise.all(this.#inFlight.values());
  }
}
