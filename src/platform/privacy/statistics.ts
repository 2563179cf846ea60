import { sql, type Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import { chinaDate } from '../../infra/calendar/working-days.ts';
import type { PrivacyDb } from './tables.ts';

const chinaOffsetMs = 8 * 3_600_000;

/** The instants a China day starts and ends. */
function dayBounds(day: string): { from: Date; to: Date } {
  const from = new Date(Date.parse(`${day}T00:00:00Z`) - chinaOffsetMs);
  return { from, to: new Date(from.getTime() + 86_400_000) };
}

/**
 * Aggregate statistics apart from personal data (一(五)): counts and durations, never who.
 * `aggregateDay` writes one row per metric for a China day into `daily_aggregates`; the gauges
 * show the same kind of counts on /metrics, read at scrape time.
 */
export class PrivacyStatistics {
  readonly #db: Kysely<PrivacyDb>;
  readonly #clock: () => Date;

  constructor(db: Kysely<PrivacyDb>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Computes (again) the aggregates of a China day; answers them. */
  async aggregateDay(day: string): Promise<Record<string, bigint>> {
    const { from, to } = dayBounds(day);
    // Through the query builder, so the tables resolve in the platform's schema.
    const count = async (table: 'users' | 'privacy_requests' | 'data_exports' | 'transactions', column: string, extra = sql<boolean>`true`) =>
      BigInt((await this.#db.selectFrom(table).select(sql<string>`count(*)::text`.as('n'))
        .where(sql.ref(column), '>=', from).where(sql.ref(column), '<', to).where(extra).executeTakeFirstOrThrow()).n);
    const metrics: Record<string, bigint> = {
      sign_ups: await count('users', 'created_at'),
      privacy_requests_received: await count('privacy_requests', 'received_at'),
      privacy_requests_answered: await count('privacy_requests', 'answered_at'),
      privacy_requests_refused: await count('privacy_requests', 'answered_at', sql`status = 'refused'`),
      data_exports_requested: await count('data_exports', 'requested_at'),
      deregistrations: await count('privacy_requests', 'answered_at', sql`kind = 'deletion' and status = 'completed'`),
      transactions_succeeded: await count('transactions', 'created_at', sql`status = 'succeeded'`),
    };
    const answer = await this.#db.selectFrom('privacy_requests')
      .select(sql<string | null>`floor(avg(extract(epoch from answered_at - received_at)))::bigint::text`.as('s'))
      .where('answered_at', '>=', from).where('answered_at', '<', to).executeTakeFirst();
    metrics.privacy_request_answer_seconds_avg = BigInt(answer?.s ?? '0');
    const now = this.#clock();
    for (const [metric, value] of Object.entries(metrics)) {
      await this.#db.insertInto('daily_aggregates').values({ day, metric, value: value.toString(), computed_at: now })
        .onConflict((oc) => oc.columns(['day', 'metric']).doUpdateSet({ value: value.toString(), computed_at: now })).execute();
    }
    return metrics;
  }

  /** The job's pass: yesterday (final) and today (so far), China days. */
  async runOnce(): Promise<void> {
    const now = this.#clock();
    await this.aggregateDay(chinaDate(new Date(now.getTime() - 86_400_000)));
    await this.aggregateDay(chinaDate(now));
  }

  /** Gauges on /metrics: open and overdue privacy requests by kind, read at scrape time. */
  registerMetrics(registry: Registry): void {
    const db = this.#db;
    const clock = this.#clock;
    new Gauge({
      name: 'mipay_privacy_requests_open', help: 'Privacy requests not yet answered, by kind and whether overdue',
      labelNames: ['kind', 'overdue'], registers: [registry],
      async collect() {
        this.reset();
        const rows = await db.selectFrom('privacy_requests')
          .select(['kind', sql<string>`count(*)::text`.as('open'), sql<string>`(count(*) filter (where due_at < ${clock()}))::text`.as('overdue')])
          .where('status', '=', 'received').groupBy('kind').execute();
        for (const r of rows) {
          this.set({ kind: r.kind, overdue: 'true' }, Number(r.overdue));
          this.set({ kind: r.kind, overdue: 'false' }, Number(r.open) - Number(r.overdue));
        }
      },
    });
  }
}
