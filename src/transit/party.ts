import type { Kysely } from 'kysely';
import { createHttpApp, type App } from '../infra/http/server.ts';
import type { Logger } from '../infra/log/logger.ts';
import { registerTransitRoutes } from './http.ts';
import type { OperatorKeys } from './operator.ts';
import { TransitOperators } from './operators.ts';
import type { TransitTables } from './tables.ts';

export { transitMigrations, transitSchema } from './migrations/index.ts';
export { BRANDS } from './brands.ts';
export type { OperatorKeys } from './operator.ts';

export interface TransitPartyOptions {
  db: Kysely<TransitTables>;
  /** Each brand's master keys, read from the keyring by the cli (`transit.<brand>.<purchase|load|tac>`). */
  keys: ReadonlyMap<string, OperatorKeys>;
  /** Keys of the callers (the platform, the gates) allowed on the API. */
  apiKeys: readonly string[];
  logger: Logger;
  version: string;
  clock?: () => Date;
}

export interface TransitParty {
  app: App;
  operators: TransitOperators;
}

/** The transit operators (one per brand) and the T-Union clearing centre, on their own HTTP server. */
export async function createTransitParty(options: TransitPartyOptions): Promise<TransitParty> {
  const operators = new TransitOperators({ db: options.db, keys: options.keys, ...(options.clock ? { clock: options.clock } : {}) });
  const app = await createHttpApp({
    party: 'transit', title: 'Mi Pay Open transit operators',
    description: 'Transit card companies (one per brand) and the T-Union clearing centre: issuance, load signing, blacklist, settlement of gate uploads.',
    version: options.version, logger: options.logger,
    healthChecks: { database: async () => { await options.db.selectFrom('cards').select('card_number').limit(1).execute(); } },
  });
  registerTransitRoutes(app, operators, options.apiKeys);
  return { app, operators };
}

/** The keyring names of a brand's master keys. */
export function operatorKeyNames(brandCode: string): { purchase: string; load: string; tac: string } {
  return { purchase: `transit.${brandCode}.purchase`, load: `transit.${brandCode}.load`, tac: `transit.${brandCode}.tac` };
}
