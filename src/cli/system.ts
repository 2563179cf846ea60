import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createBankParty, type BankParty } from '../bank/party.ts';
import { createBankAuthorization, type BankAuthorization } from '../bank/party.ts';
import { banks } from '../bank/party.ts';
import { createHttpBankClient, createTcpBankIso8583Client, type BankClient } from '../bank/client.ts';
import { createInProcessBankClient } from '../bank/party.ts';
import { bankMigrations, bankSchema } from '../bank/party.ts';
import { migrateSchema, type Database } from '../infra/db/database.ts';
import type { Keyring } from '../infra/keys/keyring.ts';
import type { Logger } from '../infra/log/logger.ts';
import { networkMigrations, networkSchema } from '../network/migrations/index.ts';
import { createNetwork, type Network } from '../network/party.ts';
import type { BankLifecycleRequest, TokenService } from '../network/client.ts';
import type { IssuerLink } from '../network/routing.ts';
import { createPlatform, platformMigrations, platformSchema, type Platform } from '../platform/party.ts';
import { createTsp, tspMigrations, tspSchema, type Tsp, type TspTables } from '../network/tsp/party.ts';
import { PlatformWalletPort } from '../platform/tokens/wallet-port.ts';
import type { RateLimitStore } from '../infra/http/rate-limit.ts';
import { SandboxSmsGateway, smsMigrations, smsSchema, type SmsGateway, type SmsTables } from '../sms/party.ts';
import { createHttpTransitClient, type TransitOperatorClient } from '../transit/client.ts';
import { BRANDS, createTransitParty, operatorKeyNames, transitMigrations, transitSchema, type TransitParty } from '../transit/party.ts';
import { version, type RunMode } from './config.ts';
import { moveDatabaseKeysToKeyring, platformKeysFrom } from './keyring-contents.ts';
import { OperatorSignals } from './operator-signals.ts';
import { voucherKeyFrom } from '../platform/risk/voucher.ts';
import { registerLabRoutes } from './lab.ts';
import { registerWebRoutes } from '../web/serve.ts';

/**
 * The only place that wires parties together (DESIGN section 1): each party gets its own schema
 * of the database and talks to the others through their clients.
 */

/** Brings every party's schema up to date; returns the migrations that ran. */
export async function migrateAll(database: Database): Promise<string[]> {
  return [
    ...(await migrateSchema(database, smsSchema, smsMigrations)).map((m) => `${smsSchema}/${m}`),
    ...(await migrateSchema(database, bankSchema, bankMigrations)).map((m) => `${bankSchema}/${m}`),
    // Before the platform's: the TSP's first migration copies the token tables the platform's then drops.
    ...(await migrateSchema(database, tspSchema, tspMigrations)).map((m) => `${tspSchema}/${m}`),
    ...(await migrateSchema(database, platformSchema, platformMigrations)).map((m) => `${platformSchema}/${m}`),
    ...(await migrateSchema(database, networkSchema, networkMigrations)).map((m) => `${networkSchema}/${m}`),
    ...(await migrateSchema(database, transitSchema, transitMigrations)).map((m) => `${transitSchema}/${m}`),
  ];
}

export interface System {
  platform: Platform;
  bank: BankParty;
  /** The banks' card-payment side: ISO 8583 endpoint (TCP), issuer keys, card personalisation. */
  bankAuthorization: BankAuthorization;
  /** The card network; its terminal-facing ISO 8583 server listens once `listen` is called. */
  network: Network;
  /** The sandbox carrier and its outbox; in production nothing sends through it and no route reads it. */
  sms: SandboxSmsGateway;
  /** What the parties send SMS through: the sandbox carrier, or the production gateway. */
  carrier: SmsGateway;
  mode: RunMode;
  keyring: Keyring;
  bankPartnerKey: string;
  /** Each bank's key for the platform's bank routes, by bank code. */
  platformBankKeys: Readonly<Record<string, string>>;
  /** The transit operators; the platform reaches them over HTTP once `transit.app` listens. */
  transit: TransitParty;
  /** UnionPay's TSP (src/network/tsp), a party of the network; closed with `network.close()`. */
  tsp: Tsp;
  /** The platform's side of the TSP's notices; set `onDeviceCardTransaction` to receive transactions. */
  walletPort: PlatformWalletPort;
}

export interface SystemOptions {
  database: Database;
  /** Where every party's master keys and KEKs come from; never the database (DESIGN section 2). */
  keyring: Keyring;
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
  /** Where the network sends device-card (token BIN 62999x) authorizations; default: UnionPay's TSP (src/network/tsp). */
  tokenService?: TokenService;
  /**
   * `sandbox` (the default): sandbox routes on the platform and the bank, SMS kept in an outbox.
   * `production`: no `/v1/sandbox/*` route on any listener, no outbox, no personalisation
   * route; `smsGateway` (a real carrier) is required.
   */
  mode?: RunMode;
  /** The real SMS carrier; required in production, unused in the sandbox. */
  smsGateway?: SmsGateway;
  /** Abuse-limit counts (Redis when `REDIS_URL` is set); default: memory. */
  rateLimitStore?: RateLimitStore;
  /** Sandbox only: merchant webhooks may target loopback addresses (local receivers). Refused in production. */
  webhookAllowLoopback?: boolean;
}

/** Platform + banks + sandbox SMS carrier in one process, one database (what `mipay up` runs). */
export async function createSystem(options: SystemOptions): Promise<System> {
  // Keys a database from before the keyring still holds move to the keyring first (sandbox), or stop the start.
  await moveDatabaseKeysToKeyring(options.database, options.keyring, options.logger);
  await migrateAll(options.database);
  const mode = options.mode ?? 'sandbox';
  assert.ok(mode === 'sandbox' || options.smsGateway, 'production mode needs a real SMS gateway');
  assert.ok(mode === 'sandbox' || !options.webhookAllowLoopback, 'loopback webhooks are a sandbox allowance');
  const signals = new OperatorSignals();
  const sms = new SandboxSmsGateway(options.database.forSchema<SmsTables>(smsSchema));
  const carrier: SmsGateway = signals.countingSms(mode === 'production' ? options.smsGateway! : sms);
  const sandboxOutbox = mode === 'sandbox' ? { sandboxOutbox: sms } : {};
  const bankPartnerKey = `bpk_${randomBytes(24).toString('base64url')}`;
  const clock = options.clock ? { clock: options.clock } : {};
  const bank = await createBankParty({
    db: options.database.forSchema(bankSchema), sms: carrier, ...sandboxOutbox, partnerKeys: [bankPartnerKey],
    otpPepper: options.keyring.key('bank.otp-pepper', 32),
    logger: options.logger.child({ party: 'bank' }), version, ...clock,
  });
  const transport = options.bankTransport ?? { kind: 'in-process' };
  const bankClient: BankClient = transport.kind === 'in-process'
    ? createInProcessBankClient(bank.service, bank.settlement)
    : lazyHttpBankClient(transport.bankUrl, bankPartnerKey);
  // Each sandbox bank's key for the platform's device card lifecycle route (a bank reports a card lost).
  const platformBankKeys = Object.fromEntries(banks.map((b) => [b.code, `pbk_${randomBytes(24).toString('base64url')}`]));
  const transit = await createTransitParty({
    db: options.database.forSchema(transitSchema), keys: transitOperatorKeys(options.keyring), apiKeys: [transitApiKey(options.keyring)],
    logger: options.logger.child({ party: 'transit' }), version, ...clock,
  });
  const caKey = paymentCaKey(options.keyring);
  const tsp = createTsp({
    db: options.database.forSchema<TspTables>(tspSchema), keyring: options.keyring,
    logger: options.logger.child({ party: 'network', component: 'tsp' }), ...clock,
  });
  const platform = await createPlatform({
    tsp: tsp.service, tspIssuers: tsp.service,
    transit: transitClientOf(transit, transitApiKey(options.keyring)),
    db: options.database.forSchema(platformSchema) as Kysely<any>, bank: bankClient, sms: carrier, ...sandboxOutbox, bankKeys: platformBankKeys, caKey,
    voucherKey: voucherKeyFrom(options.keyring),
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}), webhookAllowLoopback: mode === 'sandbox' && options.webhookAllowLoopback === true,
    ...platformKeysFrom(options.keyring),
    logger: options.logger.child({ party: 'platform' }), version, ...clock,
  });
  // The TSP tells the wallet server of lifecycle changes and transactions through this port.
  // Its transaction notices (taps, refunds, declines) become the wallet's history (issue 12).
  const walletPort = new PlatformWalletPort(platform.tokens, {
    onDeviceCardTransaction: async (notice) => void (await platform.deviceCardNotices.receive(notice)),
  });
  tsp.attachWallet(walletPort);
  // A bank's card reported lost, found or closed: the bank tells the TSP, which tells the wallet server.
  bank.service.onCardStatusChange(async (change) => {
    const call = bankLifecycleCall(change);
    if (call) await tsp.service.changeByBank({ bankCode: change.bankCode, pan: change.cardNumber, ...call });
  });
  // Device cards: the network asks its TSP to detokenize and verify them (the TSP is UnionPay's, not the platform's).
  const tokenService = options.tokenService ?? tsp.authorizer;
  const paymentPath = await createPaymentPath({ ...options, tokenService }, signals);
  const { bankAuthorization } = paymentPath;
  const network: Network = { ...paymentPath.network, close: async () => { await paymentPath.network.close(); await tsp.close(); } };
  if (mode === 'sandbox') bankAuthorization.registerSandboxRoutes(bank.app);
  // The web's lab (/lab): virtual phones and a POS hosted by the platform, sandbox only (lab.ts).
  if (mode === 'sandbox') registerLabRoutes({ platform, network }, clock);
  // The built web at /, /lab (sandbox only) and /ops (web/dist; `mipay up` builds it first).
  registerWebRoutes(platform.app, { sandbox: mode === 'sandbox' });
  // The operator's signals of every party, on the platform's /metrics (docs/operations.md).
  signals.watchLedger(platform.ledger.stats);
  signals.watchDatabase(options.database.root);
  signals.attach(platform.app.metricsRegistry);
  return { platform, bank, bankAuthorization, network, sms, carrier, mode, keyring: options.keyring, bankPartnerKey, platformBankKeys, transit, tsp, walletPort };
}

/**
 * The payment-certificate CA's ECDSA P-256 private key, from the keyring entry
 * `platform.payment-ca` (the 32-byte private scalar): the same key on every start, so
 * certificates issued before a restart still verify, and never in the database.
 */
export function paymentCaKey(keyring: Keyring): KeyObject {
  const scalar = keyring.key('platform.payment-ca', 32);
  // SEC 1 ECPrivateKey { version 1, privateKey, [0] prime256v1 }; Node derives the public point.
  const der = Buffer.concat([
    Buffer.from('30310201010420', 'hex'), scalar, Buffer.from('a00a06082a8648ce3d030107', 'hex'),
  ]);
  return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
}

/**
 * The card-present payment path: the banks' ISO 8583 endpoint and the network that reaches it
 * over TCP. The network's BIN routing table is seeded here from the banks' published BINs (in
 * production: from the network's own issuer onboarding), and each issuer's zone PIN key is
 * handed over as a key ceremony would. The bank endpoint must `listen` before the network
 * forwards anything; its port is read when the network first connects.
 */
async function createPaymentPath(
  options: SystemOptions, signals?: OperatorSignals,
): Promise<{ bankAuthorization: BankAuthorization; network: Network }> {
  const clock = options.clock ? { clock: options.clock } : {};
  // Key ceremonies: the zone MAC key is read by both the network and the bank; the CVK by the bank alone.
  const zoneMacKeys = new Map(banks.map((bank) => [bank.code, options.keyring.key(`zone.${bank.code.toLowerCase()}.mak`, 16)]));
  const cardVerificationKeys = new Map(banks.map((bank) => [bank.code, options.keyring.key(`bank.${bank.code.toLowerCase()}.cvk`, 16)]));
  const bankAuthorization = createBankAuthorization({
    db: options.database.forSchema(bankSchema), keyring: options.keyring, logger: options.logger.child({ party: 'bank' }), zoneMacKeys, cardVerificationKeys, ...clock,
  });
  const bankIso = createTcpBankIso8583Client({
    host: () => bankAuthorization.endpoint.address()?.host ?? '127.0.0.1',
    port: () => bankAuthorization.endpoint.address()?.port ?? 0,
    logger: options.logger.child({ party: 'network' }), keepAliveMs: 30_000,
  });
  const issuers = new Map<string, IssuerLink>();
  for (const bank of banks) {
    issuers.set(bank.code, { client: bankIso, zonePinKey: await bankAuthorization.zonePinKey(bank.code), zoneMacKey: zoneMacKeys.get(bank.code)! });
  }
  const network = createNetwork({
    db: options.database.forSchema(networkSchema), logger: options.logger.child({ party: 'network' }),
    routes: banks.flatMap((bank) => bank.bins.map((range) => ({ prefix: range.bin, issuerCode: bank.code }))),
    issuers, terminalKek: options.keyring.key('network.terminal-kek', 32),
    cardKeys: { hashKey: options.keyring.key('network.pan-hash', 32), sealKey: options.keyring.key('network.pan-seal', 32) },
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

/** Each transit brand's master keys from the keyring (`transit.<brand>.purchase|load|tac`, 16 bytes). */
export function transitOperatorKeys(keyring: Keyring): Map<string, { purchase: Buffer; load: Buffer; tac: Buffer }> {
  return new Map(BRANDS.map((brand) => {
    const names = operatorKeyNames(brand.code);
    return [brand.code, { purchase: keyring.key(names.purchase, 16), load: keyring.key(names.load, 16), tac: keyring.key(names.tac, 16) }];
  }));
}

/** The key the platform and the gates present to the operators' API. */
export function transitApiKey(keyring: Keyring): string {
  return `tak_${keyring.key('transit.api-key', 24).toString('base64url')}`;
}

/** The operators over HTTP at the port their server listens on (read at each call: it is known only after listen). */
function transitClientOf(transit: TransitParty, apiKey: string): TransitOperatorClient {
  return createHttpTransitClient({
    apiKey,
    baseUrl: () => {
      const address = transit.app.server.address();
      return address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : 'http://127.0.0.1:1';
    },
  });
}

/** What a bank tells the TSP when one of its cards changes status (frozen cards are refused by the bank itself). */
export function bankLifecycleCall(change: { from: string; to: string }): Pick<BankLifecycleRequest, 'action' | 'reason'> | undefined {
  if (change.to === 'lost') return { action: 'suspend', reason: 'card_lost' };
  if (change.to === 'closed') return { action: 'delete', reason: 'card_closed' };
  if (change.to === 'active' && change.from === 'lost') return { action: 'resume', reason: 'card_found' };
  return undefined;
}
