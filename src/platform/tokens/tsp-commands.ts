import type { Kysely } from 'kysely';
import { PeriodicJob } from '../../infra/periodic-job.ts';
import type { Logger } from '../../infra/log/logger.ts';
import type { DeviceCardTokenStatus, TokenServiceClient } from '../../network/client.ts';
import type { PlatformTables } from '../tables.ts';

const retryIntervalMs = 1_000;
const backoffMaxMs = 60_000;

/**
 * The wallet's lifecycle changes on their way to the TSP. A change is written to
 * `device_card_tsp_commands` in the transaction that makes it (so a device reported lost and
 * its cards' suspension commit together, whatever the TSP's state), then sent in order once the
 * transaction has committed (`flush`, called by whoever committed it, and every second). A
 * command the TSP could not take stays, and the later ones wait behind it.
 */
export class TspCommands {
  readonly #db: Kysely<PlatformTables>;
  readonly #tsp: TokenServiceClient;
  readonly #logger: Logger;
  readonly #clock: () => Date;
  readonly #job: PeriodicJob;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: { db: Kysely<PlatformTables>; tsp: TokenServiceClient; logger: Logger; clock: () => Date }) {
    this.#db = options.db;
    this.#tsp = options.tsp;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#job = new PeriodicJob('tsp-commands', () => this.flush(), options.logger);
  }

  /** Inside the caller's transaction. */
  async add(trx: Kysely<PlatformTables>, command: { tokenRefId: string; status: DeviceCardTokenStatus; reason: string; retireKeys?: boolean }): Promise<void> {
    const now = this.#clock();
    await trx.insertInto('device_card_tsp_commands').values({
      token_ref_id: command.tokenRefId, status: command.status, reason: command.reason, retire_keys: command.retireKeys === true,
      attempts: 0, next_at: now, created_at: now,
    } as never).execute();
  }

  /** Sends what is due, in order; never throws (a failure is logged and retried). */
  flush(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#pass().catch((error: unknown) => this.#logger.error({ err: error }, 'TSP commands pass failed'));
      } while (this.#again);
    })().finally(() => { this.#running = undefined; });
    return this.#running;
  }

  /** How many commands wait for the TSP (the operator's signal of a TSP that does not answer). */
  async pending(): Promise<number> {
    const row = await this.#db.selectFrom('device_card_tsp_commands').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async #pass(): Promise<void> {
    const rows = await this.#db.selectFrom('device_card_tsp_commands').selectAll().orderBy('seq').limit(100).execute();
    const now = this.#clock();
    for (const row of rows) {
      if (new Date(row.next_at).getTime() > now.getTime()) return;
      try {
        await this.#tsp.changeStatus({ tokenReferenceId: row.token_ref_id, status: row.status, reason: row.reason, retireKeys: row.retire_keys });
      } catch (error) {
        const delayMs = Math.min(backoffMaxMs, retryIntervalMs * 2 ** Math.min(row.attempts, 16));
        await this.#db.updateTable('device_card_tsp_commands').set({ attempts: row.attempts + 1, next_at: new Date(now.getTime() + delayMs) })
          .where('seq', '=', row.seq).execute();
        this.#logger.warn({ err: error, attempts: row.attempts + 1 }, 'the TSP did not take a device card change; retrying');
        return;
      }
      await this.#db.deleteFrom('device_card_tsp_commands').where('seq', '=', row.seq).execute();
    }
  }

  start(): void {
    this.#job.start(retryIntervalMs);
  }

  async stop(): Promise<void> {
    await this.#job.stop();
    await this.#running;
  }
}
