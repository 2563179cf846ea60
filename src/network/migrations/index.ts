import type { SchemaMigrations } from '../../infra/db/database.ts';
import { networkSwitch } from './2026-11-22T0500-switch.ts';

export const networkSchema = 'network';

export const networkMigrations: SchemaMigrations = {
  '2026-11-22T0500-switch': networkSwitch,
};
