import type { KeyObject } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { BankClient } from '../bank/client.ts';
import { MemoryRateLimitStore, RateLimiter, type RateLimitStore } from '../infra/http/rate-limit.ts';
import { createHttpApp, type App } from '../infra/http/server.ts';
import type { Logger } from '../infra/log/logger.ts';
import { PeriodicJob } from '../infra/periodic-job.ts';
import type { SandboxOutbox, SmsGateway } from '../sms/client.ts';
import { registerSandboxSmsRoutes } from '../sms/client.ts';
import { registerAccountRoutes } from './accounts/routes.ts';
import { AccountService } from './accounts/service.ts';
import { SmsCodes } from './accounts/sms-codes.ts';
import { registerCardRoutes } from './cards/routes.ts';
import { assertPaymentCaKey, PaymentCertificateAuthority } from './certificates/authority.ts';
import { registerPaymentCertificateRoutes } from './certificates/routes.ts';
import { PaymentCertificates } from './certificates/service.ts';
import { CardService } from './cards/service.ts';
import { registerDeviceRoutes } from './devices/routes.ts';
import { registerDoorCardRoutes } from './door-cards/routes.ts';
import { DoorCardBackupService } from './door-cards/service.ts';
import { DeviceService } from './devices/service.ts';
import { Idempotency } from './idempotency/idempotency.ts';
import { registerMerchantRoutes } from './merchants/routes.ts';
import { MerchantService } from './merchants/service.ts';
import { WebhookDispatcher } from './webhooks/outbox.ts';
import { Ledger } from './ledger/ledger.ts';
import { TransactionHistory } from './payments/history.ts';
import { DeviceCardNotices } from './transactions/device-card-notices.ts';
import { registerDeviceSessionRoutes } from './devices/session-routes.ts';
import { OrderPayments } from './payments/orders.ts';
import { PayeeDirectory } from './payments/payees.ts';
import { PendingSettlement } from './payments/pending.ts';
import { registerPaymentRoutes } from './payments/routes.ts';
import { PaymentCore } from './payments/service.ts';
import { PaymentVerifier } from './payments/verification.ts';
import { WalletPayments } from './payments/wallet.ts';
import { registerPaymentAccountRoutes } from './payment-account/routes.ts';
import { PersonalDataVault, type PersonalDataKeys } from './payment-account/personal-data.ts';
import { PaymentAccountService } from './payment-account/service.ts';
import type { PlatformTables } from './tables.ts';
import type { TokenServiceClient, TokenServiceIssuerFace } from '../network/client.ts';
import { KekRewrap } from './kek-rewrap.ts';
import { registerTokenRoutes } from './tokens/routes.ts';
import { registerTransitRoutes } from './transit/routes.ts';
import { TransitService } from './transit/service.ts';
import type { TransitOperatorClient } from '../transit/client.ts';
import { TokenService } from './tokens/service.ts';
import { createPrivacy, type Privacy } from './privacy/privacy.ts';
import { StaffAudit } from './staff/audit.ts';
import { registerStaffRoutes } from './staff/routes.ts';
import { StaffService } from './staff/service.ts';
import { registerRiskCapture } from './risk/capture.ts';
import { RiskEngine } from './risk/engine.ts';
import { RiskGate } from './risk/gate.ts';
import { registerRiskRoutes } from './risk/routes.ts';
import { IdentityCases } from './risk/identity-cases.ts';
import { registerIdentityRoutes } from './risk/identity-routes.ts';
import { assertVoucherKey } from './risk/voucher.ts';
import { registerRiskOpsRoutes } from './risk/ops-routes.ts';
import { Complaints } from './support/complaints.ts';
import { registerSupportOpsRoutes } from './support/ops-routes.ts';
import { registerSupportRoutes } from './support/routes.ts';
import { SupportTickets } from './support/tickets.ts';

export interface PlatformOptions {
  db: Kysely<PlatformTables>;
  bank: BankClient;
  sms: SmsGateway;
  /** Set in sandbox mode: the carrier's outbox is readable at GET /v1/sandbox/sms. */
  sandboxOutbox?: SandboxOutbox;
  logger: Logger;
  version: string;
  clock?: () => Date;
  /** UnionPay's token service (src/network/tsp), in process or over HTTP: the platform keeps device card references only. */
  tsp: TokenServiceClient;
  /** The TSP's issuer face, for the banks' device card lifecycle route (relayed to the TSP). */
  tspIssuers?: TokenServiceIssuerFace;
  /** Keys sealing the holders' ID numbers, ID photos and addresses, from the keyring (`personalDataKeysFrom`). */
  personalDataKeys: PersonalDataKeys;
  /** The keyring's `platform.otp-pepper`: SMS codes are stored keyed by it (infra/otp.ts). */
  otpPepper: Buffer;
  /** Issuing banks' keys for the device card lifecycle route, by bank code. */
  bankKeys?: Readonly<Record<string, string>>;
  /** Where abuse-limit counts live: Redis when `REDIS_URL` is set (cli), else this process's memory. */
  rateLimitStore?: RateLimitStore;
  /** Sandbox only: merchant webhooks may go to loopback addresses (local test receivers). */
  webhookAllowLoopback?: boolean;
  /** The transit operators (their client); without it the /v1/transit routes are not mounted. */
  transit?: TransitOperatorClient;
  /**
   * The private key (ECDSA P-256) of the platform's CA for payment certificates. It is given by
   * the composition root and never stored in the database.
   */
  caKey: KeyObject;
  /** The keyring's `platform.staff-totp`: seals the staff's TOTP secrets in the database (staff/service.ts). */
  staffTotpKey: Buffer;
  /** The ECDSA P-256 key signing electronic transaction vouchers (keyring `platform.voucher-signing`, risk/voucher.ts). */
  voucherKey: KeyObject;
}

export interface Platform {
  app: App;
  accounts: AccountService;
  paymentAccounts: PaymentAccountService;
  cards: CardService;
  devices: DeviceService;
  /** Rewraps data keys under the newest KEK generation (started with the jobs; tests call `runOnce()`). */
  kekRewrap: KekRewrap;
  /** The token service (TSP): device cards, the vault, limited-use keys. */
  tokens: TokenService;
  /** Money-moving routes put `idempotency.preHandler` after their session check. */
  idempotency: Idempotency;
  merchants: MerchantService;
  /** Backups of door cards (name and masked UID) for the user center. */
  doorCards: DoorCardBackupService;
  /** Delivers merchant webhooks; `mipay up` starts its loop, tests call `runOnce()`. */
  webhooks: WebhookDispatcher;
  ledger: Ledger;
  wallet: WalletPayments;
  orders: OrderPayments;
  pendingSettlement: PendingSettlement;
  transit: TransitService | undefined;
  payees: PayeeDirectory;
  certificates: PaymentCertificates;
  /** Device-card transactions the TSP notifies (`receive`), shown in the history and pushed to the phone. */
  deviceCardNotices: DeviceCardNotices;
  /** Consents, rights requests, the copy of everything, corrections, deregistration (issue 16). */
  privacy: Privacy;
  /** Staff accounts, roles and sessions (/ops/v1); `requireStaff(staff, ...roles)` guards an /ops route (staff/auth.ts). */
  staff: StaffService;
  /** The hash-chained staff audit log: `audit.record(...)` for every staff action. */
  audit: StaffAudit;
  /** Risk control: the engine (rule sets, decisions, the operation log). */
  risk: RiskEngine;
  /** Identity proof for important operations and the risk reviewers' queue. */
  identityCases: IdentityCases;
  /** Support tickets (users and agents) and complaints with their deadlines (staff/…, support/…). */
  tickets: SupportTickets;
  complaints: Complaints;
  /** Starts the background jobs (webhook delivery, settling payments the bank left pending, pruning spent ATCs); closing the app stops them. */
  startJobs(): void;
}

/** The platform's HTTP server with every domain's routes, ready to `listen` or `inject`. */
export async function createPlatform(options: PlatformOptions): Promise<Platform> {
  const clock = options.clock ?? (() => new Date());
  const codes = new SmsCodes(options.db, options.sms, clock, options.otpPepper);
  const rateLimitStore = options.rateLimitStore ?? new MemoryRateLimitStore({ clock });
  const limiter = new RateLimiter(rateLimitStore);
  const accounts = new AccountService(options.db, codes, clock, rateLimitStore);
  const personalData = new PersonalDataVault(options.personalDataKeys);
  const paymentAccounts = new PaymentAccountService({ db: options.db, bank: options.bank, codes, personalData, clock });
  await paymentAccounts.sealClearTextPersonalData();
  const cards = new CardService(options.db, options.bank, paymentAccounts, clock);
  const devices = new DeviceService(options.db, clock);
  const tokens = new TokenService({
    db: options.db, bank: options.bank, cards, devices, tsp: options.tsp, clock, logger: options.logger.child({ component: 'tokens' }),
    ...(options.tspIssuers ? { tspIssuers: options.tspIssuers } : {}),
  });
  devices.attachDeviceCards(tokens.lifecycle);
  accounts.onLogout((userId, sessionId) => devices.onLogout(userId, sessionId));
  cards.onUnbind((card) => tokens.deleteForBoundCard(card.id));
  const idempotency = new Idempotency(options.db, clock);
  const destinations = { allowLoopback: options.webhookAllowLoopback === true };
  const merchants = new MerchantService(options.db, clock, destinations);
  const webhooks = new WebhookDispatcher(options.db, clock, options.logger.child({ component: 'webhooks' }), destinations);
  const doorCards = new DoorCardBackupService(options.db, clock);
  const ledger = new Ledger(options.db);
  const caKey = options.caKey;
  assertPaymentCaKey(caKey);
  const certificates = new PaymentCertificates({ db: options.db, ca: () => PaymentCertificateAuthority.create(caKey, clock()), paymentAccounts, codes, clock });
  const verifier = new PaymentVerifier(paymentAccounts, devices, certificates);
  const payees = new PayeeDirectory(options.db, paymentAccounts, clock);
  const risk = new RiskEngine({ db: options.db, clock, logger: options.logger.child({ component: 'risk' }) });
  await risk.start();
  const core = new PaymentCore({
    db: options.db, ledger, bank: options.bank, paymentAccounts, cards, codes, verifier, payees, clock, risk: new RiskGate(risk),
  });
  const wallet = new WalletPayments(core);
  const orders = new OrderPayments(core, merchants);
  const pendingSettlement = new PendingSettlement(core, wallet, orders, options.logger.child({ component: 'pending-settlement' }));

  const app = await createHttpApp({
    party: 'platform',
    title: 'Mi Pay Open platform API',
    description: 'Mi accounts, the real-name payment account, quick-pay bank cards, and (as they land) payments, tokens and devices. '
      + 'Errors have one shape: `{ error: { type, code, message, param } }`.',
    version: options.version,
    logger: options.logger,
    healthChecks: { database: async () => void (await sql`select 1`.execute(options.db)) },
  });
  idempotency.register(app);
  registerRiskCapture(app, { engine: risk, accounts });
  registerAccountRoutes(app, accounts, codes, limiter);
  registerPaymentAccountRoutes(app, accounts, paymentAccounts, clock, limiter);
  registerCardRoutes(app, accounts, cards);
  registerDeviceRoutes(app, accounts, devices, paymentAccounts);
  registerDeviceSessionRoutes(app, accounts, devices);
  registerTokenRoutes(app, accounts, tokens, { bankKeys: options.bankKeys ?? {} });
  registerMerchantRoutes(app, accounts, merchants, { sandbox: options.sandboxOutbox !== undefined });
  registerDoorCardRoutes(app, accounts, doorCards);
  const deviceCardNotices = new DeviceCardNotices(options.db, clock);
  const history = new TransactionHistory(options.db, deviceCardNotices);
  registerPaymentRoutes(app, { accounts, merchants, idempotency, wallet, orders, history, payees, paymentAccounts });
  const transit = options.transit ? new TransitService({
    db: options.db, operator: options.transit, devices, merchants, orders, clock,
    verifyPaymentPassword: (userId, password) => paymentAccounts.verifyPaymentPassword(userId, password),
  }) : undefined;
  if (transit) registerTransitRoutes(app, { accounts, idempotency, transit });
  registerPaymentCertificateRoutes(app, accounts, certificates, clock);
  registerRiskRoutes(app, { accounts, db: options.db, engine: risk });
  assertVoucherKey(options.voucherKey);
  const identityCases = new IdentityCases({
    db: options.db, clock, codes, personalData, personalDataKeys: options.personalDataKeys, engine: risk, voucherKey: options.voucherKey,
  });
  registerIdentityRoutes(app, { accounts, cases: identityCases, voucherKey: options.voucherKey, limiter });
  // Daily: identity photos are deleted once their retention after the decision has passed.
  const identityPhotoDeletion = new PeriodicJob('identity-photo-deletion', () => identityCases.deleteExpiredDocuments(),
    options.logger.child({ component: 'risk' }));
  if (options.sandboxOutbox) registerSandboxSmsRoutes(app, options.sandboxOutbox);
  const privacy = createPrivacy(app, {
    db: options.db, accounts, codes, personalData, paymentAccounts, cards, devices, wallet, clock, logger: options.logger,
  });
  // A phone whose own session expired loses its bank device cards, as at logout (issue 12).
  const phoneSessionExpiry = new PeriodicJob('phone-session-expiry', async () => void (await devices.endExpiredPhoneSessions()),
    options.logger.child({ component: 'devices' }));
  const audit = new StaffAudit(options.db, clock);
  const staff = new StaffService({ db: options.db, audit, totpKey: options.staffTotpKey, clock, unknownEmailFailures: rateLimitStore });
  registerStaffRoutes(app, staff, limiter);
  registerRiskOpsRoutes(app, { staff, audit, cases: identityCases, engine: risk, db: options.db });
  const tickets = new SupportTickets({ db: options.db, audit, personalData, limits: rateLimitStore, clock });
  const complaints = new Complaints({ db: options.db, audit, paymentAccounts, clock, logger: options.logger.child({ component: 'complaints' }) });
  registerSupportRoutes(app, accounts, tickets, complaints);
  registerSupportOpsRoutes(app, { staff, audit, tickets, complaints, history: new TransactionHistory(options.db, deviceCardNotices) });
  // Hourly: a complaint's deadline is a day, so an hour's delay in flagging it is harmless.
  const complaintEscalation = new PeriodicJob('complaint-escalation', () => complaints.escalate(), options.logger.child({ component: 'complaints' }));
  // Returned transit cards are refunded once their operator's settlement window is over.
  const transitReturns = new PeriodicJob('transit-returns', async () => transit?.completeReturns(), options.logger.child({ component: 'transit' }));
  // After `mipay keys rotate-kek`, moves the vault's and the personal data's data keys to the newest KEK in batches.
  const kekRewrap = new KekRewrap({ db: options.db, personalData, logger: options.logger.child({ component: 'kek-rewrap' }) });
  app.addHook('onClose', async () => {
    await tokens.commands.stop();
    await transitReturns.stop();
    await phoneSessionExpiry.stop();
    await privacy.stop();
    await identityPhotoDeletion.stop();
    await complaintEscalation.stop();
    await kekRewrap.stop();
    await webhooks.stop();
    await pendingSettlement.stop();
    await ledger.close();
    await risk.flush();
    await limiter.close();
  });
  return {
    app, accounts, paymentAccounts, cards, devices, tokens, kekRewrap, idempotency, merchants, webhooks, ledger, wallet, orders, pendingSettlement, transit,
    doorCards,
    payees, certificates, deviceCardNotices,
    privacy,
    staff, audit, risk, identityCases, tickets, complaints,
    startJobs() {
      webhooks.start();
      pendingSettlement.start();
      tokens.commands.start();
      if (transit) transitReturns.start(600_000);
      phoneSessionExpiry.start(600_000);
      identityPhotoDeletion.start(86_400_000);
      kekRewrap.start();
      privacy.start();
      complaintEscalation.start(3_600_000);
    },
  };
}
