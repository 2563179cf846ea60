// Test wiring: the operators' party on a real TCP port with fresh keys and a fresh database,
// and an HTTP client to it. Tests only.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { migrateSchema, type Database } from '../infra/db/database.ts';
import { openTestDatabase } from '../infra/db/test-database.ts';
import { createLogger } from '../infra/log/logger.ts';
import { BRANDS } from './brands.ts';
import { createHttpTransitClient, type TransitOperatorClient } from './client.ts';
import type { OperatorKeys } from './operator.ts';
import { createTransitParty, type TransitParty } from './party.ts';
import { transitMigrations, transitSchema } from './migrations/index.ts';
import type { TransitTables } from './tables.ts';

export interface TestOperators {
  party: TransitParty;
  client: TransitOperatorClient;
  keys: Map<string, OperatorKeys>;
  url: string;
  database: Database;
  close(): Promise<void>;
}

export async function startTestOperators(options: { clock?: () => Date; database?: Database } = {}): Promise<TestOperators> {
  const database = options.database ?? await openTestDatabase();
  await migrateSchema(database, transitSchema, transitMigrations);
  const keys = new Map(BRANDS.map((b) => [b.code, { purchase: randomBytes(16), load: randomBytes(16), tac: randomBytes(16) }]));
  const apiKey = `tok_${randomBytes(12).toString('hex')}`;
  const logger = createLogger({ name: 'transit-test', destination: new Writable({ write(_c, _e, done) { done(); } }) });
  const party = await createTransitParty({
    db: database.forSchema<TransitTables>(transitSchema), keys, apiKeys: [apiKey], logger, version: 'test', ...(options.clock ? { clock: options.clock } : {}),
  });
  await party.app.listen({ host: '127.0.0.1', port: 0 });
  const address = party.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return {
    party, keys, url, database, client: createHttpTransitClient({ baseUrl: url, apiKey }),
    async close() {
      await party.app.close();
      if (!options.database) await database.close();
    },
  };
}
