import type { SchemaMigrations } from '../../infra/db/database.ts';
import { accounts } from './2026-11-22T0200-accounts.ts';
import { paymentAccounts } from './2026-11-22T0300-payment-accounts.ts';
import { ledger } from './2026-11-22T0500-ledger.ts';
import { boundCards } from './2026-11-22T0600-bound-cards.ts';
import { idempotencyKeys } from './2026-11-22T0610-idempotency-keys.ts';
import { merchants } from './2026-11-22T0620-merchants.ts';
import { transactions } from './2026-11-22T0630-transactions.ts';
import { devices } from './2026-11-22T0700-devices.ts';
import { tokens } from './2026-11-22T0710-tokens.ts';
import { tokenAtcUses } from './2026-11-22T0720-token-atc-uses.ts';
import { sealedPersonalData } from './2026-11-22T0730-sealed-personal-data.ts';
import { biometricProofs } from './2026-11-22T0740-biometric-proofs.ts';
import { keysToKeyring } from './2026-11-30T0200-keys-to-keyring.ts';
import { passwordResetLock } from './2026-11-30T0300-password-reset-lock.ts';
import { merchantOwners } from './2026-11-30T0301-merchant-owners.ts';
import { deviceRequestNonces } from './2026-11-30T0400-device-request-nonces.ts';
import { merchantCodeCounter } from './2026-11-30T0401-merchant-code-counter.ts';
import { transitCards } from './2026-11-30T0601-transit-cards.ts';
import { doorCardBackups } from './2026-11-30T0500-door-card-backups.ts';
import { miNumbers } from './2026-11-30T0701-mi-numbers.ts';
import { paymentVerification } from './2026-11-30T0702-payment-verification.ts';
import { transitMoves } from './2026-12-07T1400-transit-moves.ts';
import { deviceCardTransactions } from './2026-12-07T1200-device-card-transactions.ts';
import { deviceSessions } from './2026-12-07T1201-device-sessions.ts';
import { privacy } from './2026-12-07T1600-privacy.ts';
import { staff } from './2026-12-07T1700-staff.ts';
import { staffAuditLog } from './2026-12-07T1701-staff-audit-log.ts';
import { riskOperations } from './2026-12-07T1750-risk-operations.ts';
import { identityCases } from './2026-12-07T1751-identity-cases.ts';
import { breachRecords } from './2026-12-07T1601-breach-records.ts';
import { dailyAggregates } from './2026-12-07T1602-daily-aggregates.ts';
import { deviceCardReferences } from './2026-12-07T1000-device-card-references.ts';
import { supportAndComplaints } from './2026-12-07T1702-support-and-complaints.ts';

export const platformSchema = 'platform';

/** The platform's migrations, oldest first; names are timestamps so they sort in the order they ran. */
export const platformMigrations: SchemaMigrations = {
  '2026-11-22T0200-accounts': accounts,
  '2026-11-22T0300-payment-accounts': paymentAccounts,
  '2026-11-22T0500-ledger': ledger,
  '2026-11-22T0600-bound-cards': boundCards,
  '2026-11-22T0610-idempotency-keys': idempotencyKeys,
  '2026-11-22T0620-merchants': merchants,
  '2026-11-22T0630-transactions': transactions,
  '2026-11-22T0700-devices': devices,
  '2026-11-22T0710-tokens': tokens,
  '2026-11-22T0720-token-atc-uses': tokenAtcUses,
  '2026-11-22T0730-sealed-personal-data': sealedPersonalData,
  '2026-11-22T0740-biometric-proofs': biometricProofs,
  '2026-11-30T0200-keys-to-keyring': keysToKeyring,
  '2026-11-30T0300-password-reset-lock': passwordResetLock,
  '2026-11-30T0301-merchant-owners': merchantOwners,
  '2026-11-30T0400-device-request-nonces': deviceRequestNonces,
  '2026-11-30T0401-merchant-code-counter': merchantCodeCounter,
  '2026-11-30T0601-transit-cards': transitCards,
  '2026-11-30T0500-door-card-backups': doorCardBackups,
  '2026-11-30T0701-mi-numbers': miNumbers,
  '2026-11-30T0702-payment-verification': paymentVerification,
  '2026-12-07T1400-transit-moves': transitMoves,
  '2026-12-07T1200-device-card-transactions': deviceCardTransactions,
  '2026-12-07T1201-device-sessions': deviceSessions,
  '2026-12-07T1600-privacy': privacy,
  '2026-12-07T1700-staff': staff,
  '2026-12-07T1701-staff-audit-log': staffAuditLog,
  '2026-12-07T1750-risk-operations': riskOperations,
  '2026-12-07T1751-identity-cases': identityCases,
  '2026-12-07T1601-breach-records': breachRecords,
  '2026-12-07T1602-daily-aggregates': dailyAggregates,
  '2026-12-07T1000-device-card-references': deviceCardReferences,
  '2026-12-07T1702-support-and-complaints': supportAndComplaints,
};
