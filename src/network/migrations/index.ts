import type { SchemaMigrations } from '../../infra/db/database.ts';
import { networkSwitch } from './2026-11-22T0500-switch.ts';
import { logWrites } from './2026-11-22T0800-log-writes.ts';
import { dropLogWrites } from './2026-11-22T0810-drop-log-writes.ts';
import { pendingRequestsIndex } from './2026-11-22T0820-pending-requests-index.ts';
import { preauthCompletion } from './2026-11-29T2000-preauth-completion.ts';
import { terminalKeys } from './2026-11-30T0100-terminal-keys.ts';
import { cardNumbersAtRest } from './2026-11-30T0900-card-numbers-at-rest.ts';
import { signOnStan } from './2026-11-30T0901-sign-on-stan.ts';

export const networkSchema = 'network';

export const networkMigrations: SchemaMigrations = {
  '2026-11-22T0500-switch': networkSwitch,
  '2026-11-22T0800-log-writes': logWrites,
  '2026-11-22T0810-drop-log-writes': dropLogWrites,
  '2026-11-22T0820-pending-requests-index': pendingRequestsIndex,
  '2026-11-29T2000-preauth-completion': preauthCompletion,
  '2026-11-30T0100-terminal-keys': terminalKeys,
  '2026-11-30T0900-card-numbers-at-rest': cardNumbersAtRest,
  '2026-11-30T0901-sign-on-stan': signOnStan,
};
