import type { SchemaMigrations } from '../../infra/db/database.ts';
import { cardAccounts } from './2026-11-22T0100-card-accounts.ts';
import { settlement } from './2026-11-22T0410-settlement.ts';
import { authorization } from './2026-11-22T0420-authorization.ts';
import { preauthCompletion } from './2026-11-29T2000-preauth-completion.ts';
import { keysToKeyring } from './2026-11-30T0200-keys-to-keyring.ts';
import { quickPayLimits } from './2026-11-30T0700-quick-pay-limits.ts';

export const bankSchema = 'bank';

export const bankMigrations: SchemaMigrations = {
  '2026-11-22T0100-card-accounts': cardAccounts,
  '2026-11-22T0410-settlement': settlement,
  '2026-11-22T0420-authorization': authorization,
  '2026-11-29T2000-preauth-completion': preauthCompletion,
  '2026-11-30T0200-keys-to-keyring': keysToKeyring,
  '2026-11-30T0700-quick-pay-limits': quickPayLimits,
};
