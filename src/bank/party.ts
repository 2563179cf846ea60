/**
 * The bank party as the cli (and test wiring) builds it: the partner HTTP server with its
 * service and settlement, the ISO 8583 authorization endpoint with its issuer keys, the
 * sandbox banks' reference data, migrations, and the in-process client `mipay up` hands the
 * platform. Other parties import ./client.ts instead.
 */
export { createBankParty, type BankParty, type BankPartyOptions } from './app.ts';
export { createInProcessBankClient } from './in-process-client.ts';
export {
  createBankAuthorization,
  type BankAuthorization,
  type BankAuthorizationOptions,
} from './authorization/party.ts';
export { IssuerKeyStore, pinMatches, pinVerificationValue } from './authorization/issuer-keys.ts';
export { bankMigrations, bankSchema } from './migrations/index.ts';
export { banks, findBin } from './banks.ts';
export type { BankService } from './service.ts';
export type { SettlementService } from './settlement.ts';
