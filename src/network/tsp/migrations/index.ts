import type { SchemaMigrations } from '../../../infra/db/database.ts';
import { tsp } from './2026-12-07T1000-tsp.ts';

/** UnionPay's TSP: its own schema, beside the network's. */
export const tspSchema = 'tsp';

export const tspMigrations: SchemaMigrations = {
  '2026-12-07T1000-tsp': tsp,
};
