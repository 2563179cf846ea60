import type { Kysely } from 'kysely';
import { PeriodicJob } from '../../infra/periodic-job.ts';
import type { Logger } from '../../infra/log/logger.ts';
import type { DeviceCardTokenStatus, DeviceCardTransactionNotice, TokenTransactionCompleted, WalletServerPort } from '../token-service.ts';
import type { TspTables } from './tables.ts';

export type WalletNotice =
  | { kind: 'status'; tokenReferenceId: string; status: DeviceCardTokenStatus; reason: string }
  | { kind: 'transaction'; notice: DeviceCardTransactionNotice };

const retryIntervalMs = 1_000;
const backoffMaxMs = 60_000;
const batchMax = 100;

/**
 * What the TSP has to tell the wallet server, kept in `tsp.wallet_notices` until the wallet
 * server took it: a lifecycle change is written in the transaction that makes it, a
 * transaction notice once the authorization's final answer is known. Delivered in order, one
 * pass at a time; a notice the wallet refuses (or cannot be reached for) is retried with
 * backoff, and later notices wait behind it so a suspend never overtakes the resume before it.
 * Never on an authorization's path: nothing here delays or fails an answer to a terminal.
 */
export class WalletNotices {
  readonly #db: Kysely<TspTables>;
  readonly #logger: Logger;
  readonly #clock: () => Date;
  readonly #job: PeriodicJob;
  #port: WalletServerPort | undefined;
  #running: Promise<number> | undefined;
  #again = false;
  /** Transaction notices being queued (the switch hands them over without waiting). */
  readonly #queuing = new Set<Promise<void>>();

  constructor(options: { db: Kysely<TspTables>; logger: Logger; clock?: () => Date }) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
    this.#job = new PeriodicJob('tsp-wallet-notices', () => this.deliver(), options.logger);
  }

  /** The wallet server to tell; notices queued before it is attached wait for it. */
  attach(port: WalletServerPort): void {
    this.#port = port;
  }

  async enqueue(db: Kysely<TspTables>, notice: WalletNotice, now: Date): Promise<void> {
    await db.insertInto('wallet_notices')
      .values({ kind: notice.kind, body: JSON.stringify(notice), attempts: 0, next_at: now, created_at: now } as never).execute();
  }

  /**
   * Queues a transaction notice for the token's wallet card and starts a delivery pass, without
   * waiting for either; an unknown token (declined TOKEN_UNKNOWN) has no wallet to tell.
   */
  transaction(completed: TokenTransactionCompleted): void {
    const { token, ...facts } = completed;
    const queuing = (async () => {
      const row = await this.#db.selectFrom('tokens').select(['token_ref_id', 'token_last4']).where('token_number', '=', token).executeTakeFirst();
      if (!row) return;
      const notice: DeviceCardTransactionNotice = { tokenReferenceId: row.token_ref_id, tokenLast4: row.token_last4, ...facts };
      await this.enqueue(this.#db, { kind: 'transaction', notice }, this.#clock());
      await this.deliver();
    })().catch((error: unknown) => this.#logger.error({ err: error, tokenLast4: token.slice(-4) }, 'wallet notice not queued'))
      .finally(() => this.#queuing.delete(queuing));
    this.#queuing.add(queuing);
  }

  /** Waits until every notice handed over so far is queued and a delivery pass has run (tests, the demo, closing). */
  async settled(): Promise<void> {
    while (this.#queuing.size > 0) await Promise.all([...this.#queuing]);
    await this.deliver();
  }

  /** One delivery pass (joins the one under way, and runs once more after it); answers how many were delivered. */
  deliver(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let total = 0;
      do {
        this.#again = false;
        total += await this.#pass();
      } while (this.#again);
      return total;
    })().finally(() => { this.#running = undefined; });
    return this.#running;
  }

  async #pass(): Promise<number> {
    const port = this.#port;
    if (!port) return 0;
    const rows = await this.#db.selectFrom('wallet_notices').selectAll().orderBy('seq').limit(batchMax).execute();
    let delivered = 0;
    const now = this.#clock();
    for (const row of rows) {
      if (new Date(row.next_at).getTime() > now.getTime()) break;
      const notice = JSON.parse(row.body) as WalletNotice;
      try {
        if (notice.kind === 'status') {
          await port.deviceCardStatusChanged({ tokenReferenceId: notice.tokenReferenceId, status: notice.status, reason: notice.reason });
        } else {
          await port.deviceCardTransaction(notice.notice);
        }
      } catch (error) {
        const delayMs = Math.min(backoffMaxMs, retryIntervalMs * 2 ** Math.min(row.attempts, 16));
        await this.#db.updateTable('wallet_notices').set({ attempts: row.attempts + 1, next_at: new Date(now.getTime() + delayMs) })
          .where('seq', '=', row.seq).execute();
        this.#logger.warn({ err: error, kind: notice.kind, attempts: row.attempts + 1 }, 'wallet server did not take a notice; retrying');
        break;
      }
      await this.#db.deleteFrom('wallet_notices').where('seq', '=', row.seq).execute();
      delivered += 1;
    }
    return delivered;
  }

  start(): void {
    this.#job.start(retryIntervalMs);
  }

  async stop(): Promise<void> {
    await this.#job.stop();
    while (this.#queuing.size > 0) await Promise.all([...this.#queuing]);
    await this.#running;
  }
}
