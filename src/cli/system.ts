import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createBankParty, type BankParty } from '../bank/app.ts';
import { createBankAuthorization, type BankAuthorization } from '../bank/authorization/party.ts';
import { banks } from '../bank/banks.ts';
import { createHttpBankClient, createInProcessBankClient, createTcpBankIso8583Client, type BankClient } from '../bank/client.ts';
import { bankMigrations, bankSchema } from '../bank/migrations/index.ts';
import { migrateSchema, type Database } from '../infra/db/database.ts';
import type { Logger } from '../infra/log/logger.ts';
import { networkMigrations, networkSchema } from '../network/migrations/index.ts';
import { createNetwork, type Network } from '../network/party.ts';
import type { TokenService } from '../network/client.ts';
import type { IssuerLink } from '../network/routing.ts';
import { createPlatform, type Platform } from '../platform/app.ts';
import { platformMigrations, platformSchema } from '../platform/migrations/index.ts';
import { TokenAuthorizer } from '../platform/tokens/authorization.ts';
import { SandboxSmsGateway, smsMigrations, smsSchema, type SmsTables } from '../sms/client.ts';
import { OperatorSignals } from './operator-signals.ts';
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
    ...(await migrateSchema(database, networkSchema, networkMigrations)).map((m) => `${networkSchema}/${m}`),
  ];
}

export interface System {
  platform: Platform;
  bank: BankParty;
  /** The banks' card-payment side: ISO 8583 endpoint (TCP), issuer keys, card personalisation. */
  bankAuthorization: BankAuthorization;
  /** The card network; its terminal-facing ISO 8583 server listens once `listen` is called. */
  network: Network;
  sms: SandboxSmsGateway;
  bankPartnerKey: string;
  /** Each bank's key for the platform's bank routes, by bank code. */
  platformBankKeys: Readonly<Record<string, string>>;
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
  /** How long the network waits for a bank's ISO 8583 answer before it reverses (default 2 s). */
  networkBankTimeoutMs?: number;
  networkReversalIntervalMs?: number;
  /** Where the network sends device-card (token BIN 62999x) authorizations; default: the platform's TSP (tokens/authorization.ts). */
  tokenService?: TokenService;
}

/** Platform + banks + sandbox SMS carrier in one process, one database (what `mipay up` runs). */
export async function createSystem(options: SystemOptions): Promise<System> {
  await migrateAll(options.database);
  const signals = new OperatorSignals();
  const sms = signals.countingSms(new SandboxSmsGateway(options.database.forSchema<SmsTables>(smsSchema)));
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
  // Each sandbox bank's key for the platform's device card lifecycle route (a bank reports a card lost).
  const platformBankKeys = Object.fromEntries(banks.map((b) => [b.code, `pbk_${randomBytes(24).toString('base64url')}`]));
  const platform = await createPlatform({
    db: options.database.forSchema(platformSchema) as Kysely<any>, bank: bankClient, sms, sandboxOutbox: sms, bankKeys: platformBankKeys,
    logger: options.logger.child({ party: 'platform' }), version, ...clock,
  });
  // Device cards: the network asks the platform's TSP to detokenize and verify them (DESIGN section 1).
  const tokenService = options.tokenService ?? new TokenAuthorizer({
    db: options.database.forSchema(platformSchema) as Kysely<any>, schema: platformSchema, keys: platform.tokens.keys,
    logger: options.logger.child({ party: 'platform', component: 'tsp' }), ...clock,
  });
  const { bankAuthorization, network } = await createPaymentPath({ ...options, tokenService }, signals);
  bankAuthorization.registerSandboxRoutes(bank.app);
  // The operator's signals of every party, on the platform's /metrics (docs/operations.md).
  signals.watchLedger(platform.ledger.stats);
  signals.watchDatabase(options.database.root);
  signals.attach(platform.app.metricsRegistry);
  return { platform, bank, bankAuthorization, network, sms, bankPartnerKey, platformBankKeys };
}

/**
 * The card-present payment path: the banks' ISO 8583 endpoint and the network that reaches it
 * over TCP. The network's BIN routing table is seeded here from the banks' published BINs (in
 * production: from the network's own issuer onboarding), and each issuer's zone PIN key is
 * handed over as a key ceremony would. The bank endpoint must `listen` before the network
 * forwards anything; its port is read when the network first connects.
 */
async function createPaymentPath(options: SystemOptions, signals?: OperatorSignals): Promise<{ bankAuthorization: BankAuthorization; network: Network }> {
  const clock = options.clock ? { clock: options.clock } : {};
  const bankAuthorization = createBankAuthorization({
    db: options.database.forSchema(bankSchema), logger: options.logger.child({ party: 'bank' }), ...clock,
  });
  const bankIso = createTcpBankIso8583Client({
    host: () => bankAuthorization.endpoint.address()?.host ?? '127.0.0.1',
    port: () => bankAuthorization.endpoint.address()?.port ?? 0,
    logger: options.logger.child({ party: 'network' }),
  });
  const issuers = new Map<string, IssuerLink>();
  for (const bank of banks) issuers.set(bank.code, { client: bankIso, zonePinKey: await bankAuthorization.zonePinKey(bank.code) });
  const network = createNetwork({
    db: options.database.forSchema(networkSchema), logger: options.logger.child({ party: 'network' }),
    routes: banks.flatMap((bank) => bank.bins.map((range) => ({ prefix: range.bin, issuerCode: bank.code }))),
    issuers,
    ...(options.networkBankTimeoutMs ? { bankTimeoutMs: options.networkBankTimeoutMs } : {}),
    ...(options.networkReversalIntervalMs ? { reversalIntervalMs: options.networkReversalIntervalMs } : {}),
    ...(options.tokenService ? { tokenService: options.tokenService } : {}),
    ...(signals ? { observe: signals.observeAuthorizations(options.logger.child({ party: 'network', component: 'authorizations' })) } : {}),
    ...clock,
  });
  return { bankAuthorization, network };
}

/** An HTTP bank client whose URL is read at each call (the bank's port is known only after listen, and tests cut the link). */
function lazyHttpBankClient(bankUrl: () => string, partnerKey: string): BankClient {
  let client: { url: string; client: BankClient } | undefined;
  const get = () => {
    const url = bankUrl();
    if (client?.url !== url) client = { url, client: createHttpBankClient({ baseUrl: url, partnerKey }) };
    return client.client;
  };
  return {
    lookupCard: (cardNumber) => get().lookupCard(cardNumber),
    startVerification: (request) => get().startVerification(request),
    confirmVerification: (request) => get().confirmVerification(request),
    transferOnAgreement: (request) => get().transferOnAgreement(request),
    findAgreementTransfer: (reference) => get().findAgreementTransfer(reference),
    revokeAgreement: (agreementId) => get().revokeAgreement(agreementId),
    startAgreementVerification: (request) => get().startAgreementVerification(request),
    getCardForTokenization: (agreementId) => get().getCardForTokenization(agreementId),
  };
}
