import type { SchemaMigrations } from '../../infra/db/database.ts';
import { operators } from './2026-11-30T0600-operators.ts';
import { cardMoves } from './2026-12-07T1400-card-moves.ts';

export const transitSchema = 'transit';

export const transitMigrations: SchemaMigrations = {
  '2026-11-30T0600-operators': operators,
  '2026-12-07T1400-card-moves': cardMoves,
};
