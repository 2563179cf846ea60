/**
 * What an operator watches, as Prometheus metrics on the platform's `/metrics` (one process runs
 * every party under `mipay up`) and one structured log line per authorization. The names are
 * the ones `docs/grafana-dashboard.json` charts; docs/operations.md lists them.
 */
import { sql, type Kysely } from 'kysely';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../infra/log/logger.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';
import type { SmsGateway } from '../sms/client.ts';
import { ResponseCode } from '../protocols/iso8583/response-codes.ts';

/** Field-44 reasons the network itself answers with; the token service's are listed below; any other decline is the bank's. */
const networkReasons = new Set(['NO_ROUTE', 'NO_TSP', 'ISSUER_TIMEOUT', 'NO_AUTHORIZATION', 'REVERSED', 'FORMAT', 'PIN_BLOCK']);
const tokenServiceReasons = new Set([
  'ATC_NOT_IN_BATCH', 'ATC_REPLAYED', 'EXPIRY_MISMATCH', 'ICC_FORMAT', 'LUK_EXPIRED', 'LUK_RETIRED', 'TXN_TYPE', 'TOKEN_DELETED',
  'TOKEN_UNKNOWN', 'NO_ICC', 'CARD_LOST', 'DEVICE_LOST', 'TOKEN_EXPIRED', 'TOKEN_DOMAIN', 'TOKEN_INACTIVE', 'TOKEN_SUSPENDED',
]);
/** Response codes the network answers before any party is asked (malformed, unknown terminal or transaction). */
const networkCodes = new Set(['03', '12', '30']);
/** Device card numbers (tokens) come from this BIN range (src/platform/tokens/token-number.ts). */
const tokenBinPattern = /^62999[0-9]/;

const text = (message: Iso8583Message, field: number): string | undefined => {
  const value = message.fields[field];
  return typeof value === 'string' ? value : undefined;
};

/** 621483******0000: a card number as logs may show it (first 6, last 4; PCI DSS 3.4). */
export function maskPan(pan: string | undefined): string | undefined {
  if (!pan) return undefined;
  return pan.length <= 10 ? '*'.repeat(pan.length) : `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`;
}

/** Which party decided an authorization's outcome, from its answer. */
export function decidingParty(answer: Iso8583Message): 'network' | 'token_service' | 'bank' {
  const reason = text(answer, 44);
  if (reason && tokenServiceReasons.has(reason)) return 'token_service';
  if ((reason && networkReasons.has(reason)) || networkCodes.has(text(answer, 39) ?? '')) return 'network';
  return 'bank';
}

const kinds: Record<string, string> = { '0100': 'authorization', '0200': 'financial', '0400': 'reversal', '0420': 'reversal' };

export class OperatorSignals {
  readonly #authorizations = new Counter({
    name: 'mipay_authorizations_total', help: 'Authorizations through the network, by message kind, response code and deciding party',
    labelNames: ['kind', 'response_code', 'party'], registers: [],
  });
  readonly #authorizationSeconds = new Histogram({
    name: 'mipay_authorization_duration_seconds', help: 'Time from the terminal\'s request to the network\'s answer',
    labelNames: ['kind'], buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [],
  });
  readonly #taps = new Counter({
    name: 'mipay_taps_total', help: 'Contactless taps at POS terminals (entry mode 07x), by card type', labelNames: ['card'], registers: [],
  });
  readonly #smsSent = new Counter({ name: 'mipay_sms_sent_total', help: 'SMS messages handed to the carrier, by sender', labelNames: ['sender'], registers: [] });
  readonly #metrics: Array<Counter<string> | Histogram<string> | Gauge<string>> = [
    this.#authorizations, this.#authorizationSeconds, this.#taps, this.#smsSent,
  ];

  /** The ledger's batching writer: batches written and the transfers in them (their ratio is the mean batch size). */
  watchLedger(stats: { readonly batches: number; readonly transfers: number }): void {
    const batches = new Counter({
      name: 'mipay_ledger_batches_total', help: 'Ledger batches written (one statement, one commit each)', registers: [],
      collect() {
        this.reset();
        this.inc(stats.batches);
      },
    });
    const transfers = new Counter({
      name: 'mipay_ledger_batched_transfers_total', help: 'Transfers written in ledger batches; divided by the batches, the mean batch size', registers: [],
      collect() {
        this.reset();
        this.inc(stats.transfers);
      },
    });
    this.#metrics.push(batches, transfers);
  }

  /**
   * Gauges read from the database at each scrape: reversals the network still owes a bank,
   * logins and payment passwords locked now, and webhook events by delivery status.
   */
  watchDatabase(db: Kysely<any>): void {
    const reversalsPending = new Gauge({
      name: 'mipay_reversals_pending', help: 'Reversals the network still has to deliver to a bank', registers: [],
      async collect() {
        const row = await sql<{ n: string }>`select count(*) as n from network.transactions where reversal_status = 'pending'`.execute(db);
        this.set(Number(row.rows[0]?.n ?? 0));
      },
    });
    const locked = new Gauge({
      name: 'mipay_lockouts_active', help: 'Accounts locked now after too many wrong passwords, by lock (login, payment_password)',
      labelNames: ['lock'], registers: [],
      async collect() {
        const logins = await sql<{ n: string }>`select count(*) as n from platform.users where login_locked_until > now()`.execute(db);
        const payments = await sql<{ n: string }>`select count(*) as n from platform.payment_accounts where password_locked_until > now()`.execute(db);
        this.set({ lock: 'login' }, Number(logins.rows[0]?.n ?? 0));
        this.set({ lock: 'payment_password' }, Number(payments.rows[0]?.n ?? 0));
      },
    });
    const webhooks = new Gauge({
      name: 'mipay_webhook_events', help: 'Webhook events by status: pending (never tried), retrying (failed so far), delivered, failed (gave up)',
      labelNames: ['status'], registers: [],
      async collect() {
        const rows = await sql<{ status: string; n: string }>`select case when status = 'pending' and attempts > 0 then 'retrying' else status end as status,
          count(*) as n from platform.webhook_events group by 1`.execute(db);
        for (const status of ['pending', 'retrying', 'delivered', 'failed']) this.set({ status }, Number(rows.rows.find((r) => r.status === status)?.n ?? 0));
      },
    });
    const attempts = new Gauge({
      name: 'mipay_webhook_delivery_attempts', help: 'Webhook delivery attempts made, by outcome (failed attempts include those later delivered)',
      labelNames: ['outcome'], registers: [],
      async collect() {
        const row = await sql<{ delivered: string; failed: string }>`select count(*) filter (where status = 'delivered') as delivered,
          coalesce(sum(attempts), 0) - count(*) filter (where status = 'delivered') as failed from platform.webhook_events`.execute(db);
        this.set({ outcome: 'delivered' }, Number(row.rows[0]?.delivered ?? 0));
        this.set({ outcome: 'failed' }, Number(row.rows[0]?.failed ?? 0));
      },
    });
    this.#metrics.push(reversalsPending, locked, webhooks, attempts);
  }

  /** Registers every signal in a server's registry (the platform's, under `mipay up`). */
  attach(registry: Registry): void {
    for (const metric of this.#metrics) registry.registerMetric(metric);
  }

  /** Wraps the network's handler: times each message, counts it, and logs one line per authorization. */
  observeAuthorizations(logger: Logger): (request: Iso8583Message, handle: () => Promise<Iso8583Message>) => Promise<Iso8583Message> {
    return async (request, handle) => {
      const started = process.hrtime.bigint();
      const answer = await handle();
      const kind = kinds[request.mti];
      if (!kind) return answer;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const responseCode = text(answer, 39) ?? ResponseCode.SYSTEM_MALFUNCTION;
      const party = decidingParty(answer);
      const pan = text(answer, 2) ?? text(request, 2);
      this.#authorizations.inc({ kind, response_code: responseCode, party });
      this.#authorizationSeconds.observe({ kind }, seconds);
      if (kind !== 'reversal' && text(request, 22)?.startsWith('07')) this.#taps.inc({ card: pan && tokenBinPattern.test(pan) ? 'device_card' : 'card' });
      logger.info({
        mti: request.mti, kind, stan: text(request, 11), rrn: text(answer, 37), terminal_id: text(request, 41), merchant_id: text(request, 42),
        masked_pan: maskPan(pan), amount_fen: text(request, 4) ? Number(text(request, 4)) : undefined, response_code: responseCode,
        reason: text(answer, 44), party, duration_ms: Math.round(seconds * 10_000) / 10,
      }, 'authorization');
      return answer;
    };
  }

  /** The SMS gateway, counting what it sends. */
  countingSms<G extends SmsGateway>(gateway: G): G {
    const smsSent = this.#smsSent;
    return new Proxy(gateway, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== 'send' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          const message = args[0] as { sender?: string } | undefined;
          smsSent.inc({ sender: message?.sender ?? 'unknown' });
          return result;
        };
      },
    });
  }
}
