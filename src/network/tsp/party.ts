import type { Kysely } from 'kysely';
import type { Keyring } from '../../infra/keys/keyring.ts';
import type { Logger } from '../../infra/log/logger.ts';
import { PeriodicJob } from '../../infra/periodic-job.ts';
import type { TokenTransactionCompleted, WalletServerPort } from '../token-service.ts';
import { TokenAuthorizer } from './authorization.ts';
import { tspKeysFrom, type TspKeys } from './keys.ts';
import { TokenServiceProvider } from './service.ts';
import type { TspTables } from './tables.ts';
import { detokenize, rewrapVaultBatch } from './vault.ts';
import { WalletNotices } from './wallet-notices.ts';

export { tspMigrations, tspSchema } from './migrations/index.ts';
export type { TspTables } from './tables.ts';

/** Rows rewrapped per pass of the vault's KEK rotation. */
const rewrapBatchSizeMax = 200;

export interface Tsp {
  /** What the wallet server and the issuers call (`TokenServiceClient`, `TokenServiceIssuerFace`). */
  service: TokenServiceProvider;
  /** What the switch calls for every device card request (`TokenService`). */
  authorizer: TokenAuthorizer;
  /** Notices to the wallet server, queued and retried. */
  notices: WalletNotices;
  keys: TspKeys;
  /** Tells the TSP which wallet server to notify (set once the platform exists). */
  attachWallet(port: WalletServerPort): void;
  /** The card data behind a token (the vault), for the network's tests and operators' checks only; never for an answer or a log line. */
  detokenize(tokenNumber: string): ReturnType<typeof detokenize>;
  /** After `mipay keys rotate-kek`: one pass of rewrapping the vault's data keys under the newest KEK. */
  rewrapVault(batchSizeMax?: number): Promise<number>;
  startJobs(): void;
  close(): Promise<void>;
}

/**
 * UnionPay's token service provider, a party of the card network: schema `tsp`, keys `tsp.*`
 * from the keyring (the names the platform's TSP used, so an existing keyring opens the moved
 * vault as it is). Jobs: pruning spent ATCs (hourly), the vault's KEK rewrap (every 5 s, a
 * no-op once done) and the wallet notices (every second).
 */
export function createTsp(options: { db: Kysely<TspTables>; keyring: Pick<Keyring, 'key' | 'keks'>; logger: Logger; clock?: () => Date }): Tsp {
  const clock = options.clock ? { clock: options.clock } : {};
  const keys = tspKeysFrom(options.keyring);
  const notices = new WalletNotices({ db: options.db, logger: options.logger.child({ component: 'wallet-notices' }), ...clock });
  const service = new TokenServiceProvider({ db: options.db, keys, notices, ...clock });
  const authorizer = new TokenAuthorizer({
    db: options.db, keys, logger: options.logger, ...clock,
    onCompleted: (completed: TokenTransactionCompleted) => notices.transaction(completed),
  });
  const rewrapVault = (batchSizeMax = rewrapBatchSizeMax) => rewrapVaultBatch(options.db, keys, batchSizeMax);
  const pruning = new PeriodicJob('tsp-atc-pruning', () => service.pruneSpentAtcs(), options.logger);
  const rewrap = new PeriodicJob('tsp-kek-rewrap', async () => {
    const moved = await rewrapVault();
    if (moved > 0) options.logger.info({ vault: moved }, 'rewrapped vault data keys under the newest KEK');
  }, options.logger);
  return {
    service, authorizer, notices, keys, rewrapVault,
    detokenize: (tokenNumber) => detokenize(options.db, keys, tokenNumber),
    attachWallet: (port) => notices.attach(port),
    startJobs() {
      pruning.start(3_600_000);
      rewrap.start(5_000);
      notices.start();
    },
    async close() {
      await pruning.stop();
      await rewrap.stop();
      await notices.stop();
    },
  };
}
