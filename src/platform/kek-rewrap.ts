import type { Kysely } from 'kysely';
import { PeriodicJob } from '../infra/periodic-job.ts';
import type { Logger } from '../infra/log/logger.ts';
import { rewrapPersonalDataBatch, type PersonalDataVault } from './payment-account/personal-data.ts';
import type { PlatformTables } from './tables.ts';

/** Rows rewrapped per batch: one short transaction-free pass each, so payments are never held up. */
export const kekRewrapBatchSizeMax = 200;
const intervalMs = 5_000;

/**
 * The second half of a KEK rotation: once the keyring has a newer KEK generation (`mipay keys
 * rotate-kek`), every data key of the token vault and of the sealed personal data is rewrapped
 * under it, a batch at a time, while the server runs. Ciphertexts are untouched; only the
 * wrapped data keys and their KEK ids change. `mipay keys rotate-kek` runs the same passes
 * itself when it can reach the database; the server's job catches what it cannot (PGlite, held
 * by the server) and rows sealed under the old KEK before the server saw the new one.
 */
export class KekRewrap {
  readonly #db: Kysely<PlatformTables>;
  readonly #vault: ((batchSizeMax: number) => Promise<number>) | undefined;
  readonly #personalData: PersonalDataVault;
  readonly #job: PeriodicJob;

  constructor(options: {
    db: Kysely<PlatformTables>; personalData: PersonalDataVault; logger: Logger;
    /** The TSP's vault pass (src/network/tsp), when the caller rotates it too (`mipay keys rotate-kek`); the TSP runs its own job. */
    vault?: (batchSizeMax: number) => Promise<number>;
  }) {
    this.#db = options.db;
    this.#vault = options.vault;
    this.#personalData = options.personalData;
    this.#job = new PeriodicJob('kek-rewrap', async () => {
      const moved = await this.runOnce();
      if (moved.vault + moved.personalData > 0) options.logger.info(moved, 'rewrapped data keys under the newest KEK');
    }, options.logger);
  }

  /** One batch of each store; answers how many rows moved (zero each when all are on the newest KEK). */
  async runOnce(batchSizeMax = kekRewrapBatchSizeMax): Promise<{ vault: number; personalData: number }> {
    return {
      vault: this.#vault ? await this.#vault(batchSizeMax) : 0,
      personalData: await rewrapPersonalDataBatch(this.#db, this.#personalData, batchSizeMax),
    };
  }

  /** Batches until no row is left under an older KEK; answers the totals. */
  async runToCompletion(batchSizeMax = kekRewrapBatchSizeMax): Promise<{ vault: number; personalData: number }> {
    const total = { vault: 0, personalData: 0 };
    for (;;) {
      const moved = await this.runOnce(batchSizeMax);
      total.vault += moved.vault;
      total.personalData += moved.personalData;
      if (moved.vault + moved.personalData === 0) return total;
    }
  }

  start(): void {
    this.#job.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }
}
