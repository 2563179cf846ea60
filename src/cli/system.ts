import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createBankParty, type BankParty } from '../bank/app.ts';
import { createHttpBankClient, createInProcessBankClient, type BankClient } from '../bank/client.ts';
import { bankMigrations, bankSchema } from '../bank/migrations/index.ts';
import { migrateSchema, type Database } from '../infra/db/database.ts';
import type { Logger } from '../infra/log/logger.ts';
import { createPlatform, type Platform } from '../platform/app.ts';
import { platformMigrations, platformSchema } from '../platform/migrations/index.ts';
import { SandboxSmsGateway, smsMigrations, smsSchema, type SmsTables } from '../sms/client.ts';
import { version } from './config.ts';

/**
 * The only place that wires parties together (DESIGN section 1): each party gets its own schema
 * of the database and talks to the others through their clients.
 */

/** Brings every party's schema up to date; returns the migrations that ran. */
export async function migrateAll(database: Database): Promise<string[]> {
  return [
    ...(await migrateSchema(database, smsSchema, smsMigrations)).map((m) => `${smsSchema}/${m}`),
    ...(await migrateSchema(database, bankSchema, bankMigrations)).map((m) => `${bankSchema}/${m}`),
    ...(await migrateSchema(database, platformSchema, platformMigrations)).map((m) => `${platformSchema}/${m}`),
  ];
}

export interface System {
  platform: Platform;
  bank: BankParty;
  sms: SandboxSmsGateway;
  bankPartnerKey: string;
}

export interface SystemOptions {
  database: Database;
  logger: Logger;
  clock?: () => Date;
  /**
   * How the platform reaches the bank: `in-process` (the `mipay up` default), or `http` against
   * the bank's own server at `bankUrl` (set once that server listens).
   */
  bankTransport?: { kind: 'in-process' } | { kind: 'http'; bankUrl: () => string };
}

/** Platform + banks + sandbox SMS carrier in one process, one database (what `mipay up` runs). */
export async function createSystem(options: SystemOptions): Promise<System> {
  await migrateAll(options.database);
  const sms = new SandboxSmsGateway(options.database.forSchema<SmsTables>(smsSchema));
  const bankPartnerKey = `bpk_${randomBytes(24).toString('base64url')}`;
  const clock = options.clock ? { clock: options.clock } : {};
  const bank = await createBankParty({
    db: options.database.forSchema(bankSchema), sms, sandboxOutbox: sms, partnerKeys: [bankPartnerKey],
    logger: options.logger.child({ party: 'bank' }), version, ...clock,
  });
  const transport = options.bankTransport ?? { kind: 'in-process' };
  const bankClient: BankClient = transport.kind === 'in-process'
    ? createInProcessBankClient(bank.service, bank.settlement)
    : lazyHttpBankClient(transport.bankUrl, bankPartnerKey);
  const platform = await createPlatform({
    db: options.database.forSchema(platformSchema) as Kysely<any>, bank: bankClient, sms, sandboxOutbox: sms,
    logger: options.logger.child({ party: 'platform' }), version, ...clock,
  });
  return { platform, bank, sms, bankPartnerKey };
}

/** An HTTP bank client whose URL is read at call time (the bank's port is known only after listen). */
function lazyHttpBankClient(bankUrl: () => string, partnerKey: string): BankClient {
  let client: BankClient | undefined;
  const get = () => (client ??= createHttpBankClient({ baseUrl: bankUrl(), partnerKey }));
  return {
    lookupCard: (cardNumber) => get().lookupCard(cardNumber),
    startVerification: (request) => get().startVerification(request),
    confirmVerification: (request) => get().confirmVerification(request),
    transferOnAgreement: (request) => get().transferOnAgreement(request),
    findAgreementTransfer: (reference) => get().findAgreementTransfer(reference),
    revokeAgreement: (agreementId) => get().revokeAgreement(agreementId),
  };
}
