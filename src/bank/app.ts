import type { Kysely } from 'kysely';
import { createHttpApp, type App } from '../infra/http/server.ts';
import type { Logger } from '../infra/log/logger.ts';
import type { SandboxOutbox, SmsGateway } from '../sms/client.ts';
import { registerSandboxSmsRoutes } from '../sms/client.ts';
import { bankErrors, registerBankRoutes } from './http.ts';
import { BankService, type BankTables } from './service.ts';
import { SettlementService } from './settlement.ts';
import { registerSettlementRoutes } from './settlement-http.ts';

export interface BankPartyOptions {
  db: Kysely<BankTables>;
  sms: SmsGateway;
  /** The keyring's `bank.otp-pepper` (verification codes are stored keyed by it). */
  otpPepper: Buffer;
  sandboxOutbox?: SandboxOutbox;
  partnerKeys: readonly string[];
  logger: Logger;
  version: string;
  clock?: () => Date;
}

export interface BankParty {
  app: App;
  service: BankService;
  settlement: SettlementService;
}

/** The banks' HTTP server: the partner API for the platform, and sandbox routes when in sandbox mode. */
export async function createBankParty(options: BankPartyOptions): Promise<BankParty> {
  const service = new BankService({ db: options.db, sms: options.sms, otpPepper: options.otpPepper, ...(options.clock ? { clock: options.clock } : {}) });
  const settlement = new SettlementService(options.db, options.clock);
  const app = await createHttpApp({
    party: 'bank',
    title: 'Mi Pay Open sandbox banks',
    description: 'The issuing banks: four-element card verification with SMS codes, quick-pay agreements, and sandbox card issuance.',
    version: options.version,
    logger: options.logger,
    healthChecks: { database: () => service.ping() },
    securitySchemes: { partner_key: { type: 'http', scheme: 'bearer', description: 'A partner key (the platform\'s), one of MIPAY_BANK_PARTNER_KEYS' } },
    credentialsError: bankErrors.unauthorized,
  });
  registerBankRoutes(app, service, { partnerKeys: options.partnerKeys, sandbox: options.sandboxOutbox !== undefined });
  registerSettlementRoutes(app, settlement, options.partnerKeys);
  if (options.sandboxOutbox) registerSandboxSmsRoutes(app, options.sandboxOutbox);
  return { app, service, settlement };
}
