import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import type { Logger } from '../../infra/log/logger.ts';
import { PeriodicJob } from '../../infra/periodic-job.ts';
import type { PlatformTables } from '../tables.ts';
import { signatureHeader, signatureHeaderValue } from './signature.ts';

export type WebhookEventType = 'order.paid' | 'order.refunded';

/** Delivery policy: at most 12 attempts over about a day, 5 s per attempt. */
export const webhookPolicy = {
  attemptsMax: 12,
  timeoutMs: 5_000,
  /** While one dispatcher delivers an event, others leave it alone for this long. */
  leaseMs: 30_000,
  batchMax: 20,
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
 * (its next attempt pushed forward), then delivered, then its outcome written.
 */
export class WebhookDispatcher {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;
  readonly #logger: Logger;
  readonly #job: PeriodicJob;

  constructor(db: Kysely<PlatformTables>, clock: () => Date, logger: Logger) {
    this.#db = db;
    this.#clock = clock;
    this.#logger = logger;
    this.#job = new PeriodicJob('webhooks', () => this.runOnce(), logger);
  }

  /** One pass over due events; answers how many were attempted. */
  async runOnce(): Promise<number> {
    const now = this.#clock();
    const leased = await this.#db.transaction().execute(async (trx) => {
      const due = await trx.selectFrom('webhook_events').select('id').where('status', '=', 'pending').where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at').limit(webhookPolicy.batchMax).forUpdate().skipLocked().execute();
      if (due.length === 0) return [];
      return trx.updateTable('webhook_events').set({ next_attempt_at: new Date(now.getTime() + webhookPolicy.leaseMs) })
        .where('id', 'in', due.map((d) => d.id)).returningAll().execute();
    });
    for (const event of leased) await this.#deliver(event);
    return leased.length;
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
      const response = await fetch(merchant.webhook_url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [signatureHeader]: signatureHeaderValue(merchant.webhook_secret, event.payload, now), 'user-agent': 'MiPayOpen-Webhooks/1' },
        body: event.payload,
        signal: AbortSignal.timeout(webhookPolicy.timeoutMs),
        redirect: 'manual',
      });
      status = response.status;
      await response.body?.cancel();
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

  stop(): Promise<void> {
    return this.#job.stop();
  }
}
