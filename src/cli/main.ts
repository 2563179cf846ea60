import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createBankParty } from '../bank/party.ts';
import { createHttpBankClient } from '../bank/client.ts';
import { bankMigrations, bankSchema } from '../bank/party.ts';
import { migrateSchema, openDatabase, type Database } from '../infra/db/database.ts';
import { openFileKeyring } from '../infra/keys/keyring.ts';
import { createLogger, type Logger } from '../infra/log/logger.ts';
import { createPlatform } from '../platform/party.ts';
import { platformMigrations, platformSchema } from '../platform/party.ts';
import { RedisRateLimitStore } from '../infra/http/redis-rate-limit-store.ts';
import type { RateLimitStore } from '../infra/http/rate-limit.ts';
import type { Keyring } from '../infra/keys/keyring.ts';
import { aliyunSmsFromEnv } from '../sms/party.ts';
import { SandboxSmsGateway, smsMigrations, smsSchema, type SmsGateway, type SmsTables } from '../sms/party.ts';
import { databaseConfig, dataDir, defaultPorts, describeDatabase, keyringPath, listenHost, portFromEnv, runMode, version, type RunMode } from './config.ts';
import { createSystem, migrateAll, paymentCaKey } from './system.ts';
import { moveDatabaseKeysToKeyring, platformKeysFrom } from './keyring-contents.ts';
import { assertKeyringOutsideDataFolder, openSecuredDatabase } from './data-folder.ts';
import { registerKeysCommands } from './keys-command.ts';
import { registerPhoneCommands } from './phone-command.ts';
import { registerTransitCommands } from './transit-command.ts';
import { registerDoorCommands } from './door-command.ts';
import { registerPrivacyCommands } from './privacy-command.ts';
import { paymentRuntime, registerClearingRoute, registerPosCommands, startPaymentPath } from './pos-command.ts';
import { acquireDataFolderLock } from './data-folder-lock.ts';
import { registerStaffCommands } from './staff-command.ts';
import { registerVoucherCommands } from './voucher-command.ts';
import { voucherKeyFrom } from '../platform/risk/voucher.ts';
import { ensureWebBuilt } from '../web/build.ts';
import { createHttpTokenServiceClient, walletProviderKey } from '../network/client.ts';

const program = new Command();
program.name('mipay').description('Mi Pay Open: a self-hostable mobile NFC payment platform').version(version);

/** Closes everything on SIGINT/SIGTERM: servers stop accepting, finish in-flight requests, then the database closes. */
function closeOnSignal(logger: Logger, close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    close().then(() => process.exit(0), (error) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/**
 * What production needs before anything starts: the keyring file, read-only (a missing key
 * stops the start rather than being made up), and a real SMS gateway. The sandbox makes its
 * keyring on first use and keeps SMS in its outbox.
 */
function modeDependencies(mode: RunMode): { keyring: Keyring; smsGateway?: SmsGateway } {
  if (mode === 'sandbox') return { keyring: openFileKeyring(keyringPath(), { create: true }) };
  const keyring = openFileKeyring(keyringPath(), { create: false });
  const sms = aliyunSmsFromEnv(process.env);
  if ('missing' in sms) throw new Error(`production mode needs a real SMS gateway (Alibaba Cloud SMS); set ${sms.missing.join(', ')}`);
  if (process.env.MIPAY_WEBHOOK_ALLOW_LOOPBACK === '1') throw new Error('MIPAY_WEBHOOK_ALLOW_LOOPBACK is a sandbox allowance; production webhooks go to public addresses only');
  return { keyring, smsGateway: sms.gateway };
}

/** Redis when `REDIS_URL` is set (shared by every platform process), else memory. */
async function rateLimitStoreFromEnv(): Promise<{ rateLimitStore?: RateLimitStore }> {
  if (!process.env.REDIS_URL) return {};
  const store = new RedisRateLimitStore(process.env.REDIS_URL);
  await store.connect().catch((error: Error) => {
    throw new Error(`REDIS_URL is set but Redis does not answer: ${error.message}`);
  });
  return { rateLimitStore: store };
}

const modeLine: Record<RunMode, string> = {
  sandbox: 'sandbox (sandbox routes and the SMS outbox are on; for trying things, not for real money)',
  production: 'production (no sandbox routes, SMS through Alibaba Cloud, keys from the keyring)',
};

program
  .command('up')
  .description('start the platform and the banks in one process on one database (PGlite unless DATABASE_URL is set)')
  .option('--production', 'production mode (also MIPAY_MODE=production): no sandbox routes, a real SMS gateway, the keyring read-only')
  .option('--allow-remote', 'sandbox: allow a non-loopback MIPAY_HOST (also MIPAY_ALLOW_REMOTE_SANDBOX=1)')
  .action(async (options: { production?: boolean; allowRemote?: boolean }) => {
    const mode = runMode(options.production === true);
    const host = listenHost(mode, options.allowRemote === true, (line) => process.stderr.write(`${line}\n`));
    const dependencies = modeDependencies(mode);
    const logger = createLogger({ name: 'mipay' });
    const config = databaseConfig();
    // One writer per PGlite folder: a second `mipay up` stops here, before it opens anything.
    const lock = config.kind === 'pglite' ? acquireDataFolderLock(dataDir(), 'up') : undefined;
    assertKeyringOutsideDataFolder(keyringPath(), dataDir());
    const database = await openSecuredDatabase(config);
    const { keyring, ...smsGateway } = dependencies;
    const system = await createSystem({
      database, keyring, logger, mode, ...smsGateway, ...(await rateLimitStoreFromEnv()),
      webhookAllowLoopback: mode === 'sandbox' && process.env.MIPAY_WEBHOOK_ALLOW_LOOPBACK === '1',
    });
    const adminToken = randomBytes(24).toString('base64url');
    registerClearingRoute(system.platform.app, system.network, adminToken);
    // The web the platform serves (user centre, lab, ops console), rebuilt when its sources changed (src/web/build.ts).
    await ensureWebBuilt({ log: (line) => process.stderr.write(`${line}\n`) });
    const platformUrl = await system.platform.app.listen({ host, port: portFromEnv('MIPAY_PLATFORM_PORT', defaultPorts.platform) });
    const bankUrl = await system.bank.app.listen({ host, port: portFromEnv('MIPAY_BANK_PORT', defaultPorts.bank) });
    const transitUrl = await system.transit.app.listen({ host, port: portFromEnv('MIPAY_TRANSIT_PORT', defaultPorts.transit) });
    system.platform.startJobs();
    system.tsp.startJobs();
    mkdirSync(dataDir(), { recursive: true });
    const paymentPath = await startPaymentPath(system, host);
    writeFileSync(join(dataDir(), 'runtime.json'), JSON.stringify({
      platform_url: platformUrl, bank_url: bankUrl, transit_url: transitUrl, ...paymentRuntime(paymentPath.network), pid: process.pid,
      admin_token: adminToken,
    }, null, 2), { mode: 0o600 });
    closeOnSignal(logger, async () => {
      await Promise.all([system.platform.app.close(), system.bank.app.close(), system.transit.app.close(), paymentPath.close()]);
      await database.close();
      lock?.release();
    });
    process.stdout.write([
      '',
      mode === 'sandbox'
        ? `Mi Pay Open ${version} is up (sandbox mode: SMS messages are kept, not delivered)`
        : `Mi Pay Open ${version} is up (production mode)`,
      `  mode          ${modeLine[mode]}`,
      `  database      ${describeDatabase(config)}`,
      `  platform API  ${platformUrl}/v1     docs ${platformUrl}/docs   OpenAPI ${platformUrl}/openapi.json`,
      ...(mode === 'sandbox' ? [`  sandbox SMS   ${platformUrl}/v1/sandbox/sms?phone=<phone>`] : []),
      `  banks         ${bankUrl}/v1/banks   docs ${bankUrl}/docs   ISO 8583 ${paymentPath.bankIso}`,
      `  network       ISO 8583 (TCP, 2-byte length) ${paymentPath.network}   try: npx mipay pos charge 23.50 --card <card-number>`,
      `  transit       operators ${transitUrl}/v1/brands   docs ${transitUrl}/docs   try: npx mipay demo --transit`,
      `  health        ${platformUrl}/healthz   metrics ${platformUrl}/metrics`,
      `  web           ${platformUrl}/ (user centre)${mode === 'sandbox' ? `   ${platformUrl}/lab (lab)` : ''}   ${platformUrl}/ops (ops console)`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n') + '\n');
  });

program
  .command('serve')
  .description('run one party alone, on its own port and database')
  .argument('<party>', 'platform | bank')
  .option('--production', 'production mode (also MIPAY_MODE=production): no sandbox routes, a real SMS gateway, the keyring read-only')
  .option('--allow-remote', 'sandbox: allow a non-loopback MIPAY_HOST (also MIPAY_ALLOW_REMOTE_SANDBOX=1)')
  .action(async (party: string, options: { production?: boolean; allowRemote?: boolean }) => {
    const mode = runMode(options.production === true);
    const listenOn = listenHost(mode, options.allowRemote === true, (line) => process.stderr.write(`${line}\n`));
    const host = () => listenOn;
    const { smsGateway, keyring } = modeDependencies(mode);
    const logger = createLogger({ name: `mipay-${party}` });
    const lock = databaseConfig().kind === 'pglite' ? acquireDataFolderLock(dataDir(), `serve ${party}`) : undefined;
    process.once('exit', () => lock?.release());
    assertKeyringOutsideDataFolder(keyringPath(), dataDir());
    const database = await openSecuredDatabase(databaseConfig());
    await moveDatabaseKeysToKeyring(database, keyring, logger);
    await migrateSchema(database, smsSchema, smsMigrations);
    const outbox = new SandboxSmsGateway(database.forSchema<SmsTables>(smsSchema));
    const sms: SmsGateway = smsGateway ?? outbox;
    const sandboxOutbox = mode === 'sandbox' ? { sandboxOutbox: outbox } : {};
    if (party === 'bank') {
      const partnerKeys = (process.env.MIPAY_BANK_PARTNER_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
      if (partnerKeys.length === 0) throw new Error('MIPAY_BANK_PARTNER_KEYS must list the partner keys allowed to call the bank');
      await migrateSchema(database, bankSchema, bankMigrations);
      const bank = await createBankParty({
        db: database.forSchema(bankSchema), sms, ...sandboxOutbox, partnerKeys, logger, version, otpPepper: keyring.key('bank.otp-pepper', 32),
      });
      const url = await bank.app.listen({ host: host(), port: portFromEnv('MIPAY_BANK_PORT', defaultPorts.bank) });
      closeOnSignal(logger, async () => { await bank.app.close(); await database.close(); });
      process.stdout.write(`bank listening on ${url} (docs ${url}/docs), ${mode} mode\n`);
    } else if (party === 'platform') {
      const bankUrl = process.env.MIPAY_BANK_URL;
      const partnerKey = process.env.MIPAY_BANK_PARTNER_KEY;
      if (!bankUrl || !partnerKey) throw new Error('the platform alone needs MIPAY_BANK_URL and MIPAY_BANK_PARTNER_KEY to reach the bank');
      // UnionPay's TSP runs with the network (`mipay serve network`); the platform keeps device card references only.
      const tspUrl = process.env.MIPAY_TSP_URL;
      if (!tspUrl) throw new Error('the platform alone needs MIPAY_TSP_URL to reach the token service (mipay serve network)');
      await migrateSchema(database, platformSchema, platformMigrations);
      const platform = await createPlatform({
        db: database.forSchema(platformSchema), bank: createHttpBankClient({ baseUrl: bankUrl, partnerKey }), sms, ...sandboxOutbox, logger, version,
        ...(await rateLimitStoreFromEnv()), webhookAllowLoopback: mode === 'sandbox' && process.env.MIPAY_WEBHOOK_ALLOW_LOOPBACK === '1',
        caKey: paymentCaKey(keyring), ...platformKeysFrom(keyring), voucherKey: voucherKeyFrom(keyring),
        ...tspClientOptions(createHttpTokenServiceClient({ baseUrl: tspUrl, key: walletProviderKey(keyring) })),
      });
      const url = await platform.app.listen({ host: host(), port: portFromEnv('MIPAY_PLATFORM_PORT', defaultPorts.platform) });
      platform.startJobs();
      closeOnSignal(logger, async () => { await platform.app.close(); await database.close(); });
      process.stdout.write(`platform listening on ${url} (docs ${url}/docs), ${mode} mode\n`);
    } else {
      throw new InvalidArgumentError(`unknown party "${party}"; one of: platform, bank`);
    }
  });

program
  .command('migrate')
  .description('bring every party\'s schema up to date, then exit')
  .action(async () => {
    const config = databaseConfig();
    const lock = config.kind === 'pglite' ? acquireDataFolderLock(dataDir(), 'migrate') : undefined;
    const database: Database = await openSecuredDatabase(config);
    try {
      const ran = await migrateAll(database);
      process.stdout.write(`${describeDatabase(config)}: ${ran.length === 0 ? 'already up to date' : `ran ${ran.join(', ')}`}\n`);
    } finally {
      await database.close();
      lock?.release();
    }
  });

function runtimeUrl(key: 'platform_url' | 'bank_url', fallbackPort: number): string {
  try {
    const runtime = JSON.parse(readFileSync(join(dataDir(), 'runtime.json'), 'utf8')) as Record<string, string>;
    if (runtime[key]) return runtime[key];
  } catch {
    // No runtime file: `mipay up` has not run from this folder; use the default port.
  }
  return `http://127.0.0.1:${fallbackPort}`;
}

function yuanToFen(value: string): bigint {
  if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(value)) throw new InvalidArgumentError('an amount in yuan, e.g. 1000 or 99.50');
  const [whole, fraction = ''] = value.split('.');
  return BigInt(whole!) * 100n + BigInt(fraction.padEnd(2, '0'));
}

const bank = program.command('bank').description('the sandbox banks');
bank
  .command('issue-card')
  .description('issue a test card to a person at a sandbox bank; prints the card number')
  .requiredOption('--bank <code>', 'bank code, e.g. CCB, CMB, HXB, NXB (see GET /v1/banks)')
  .requiredOption('--name <name>', 'holder name, e.g. 张三')
  .requiredOption('--id-number <id>', 'holder resident ID number (18 characters)')
  .requiredOption('--phone <phone>', 'reserved phone number')
  .option('--kind <kind>', 'debit | credit', 'debit')
  .option('--brand <brand>', 'unionpay | visa', 'unionpay')
  .option('--balance <yuan>', 'opening balance of a debit card, in yuan', yuanToFen)
  .option('--credit-limit <yuan>', 'credit limit of a credit card, in yuan', yuanToFen)
  .option('--expiry <YYMM>', 'expiry month')
  .option('--bank-url <url>', 'the bank server (default: from the running `npx mipay up`)')
  .action(async (options: { bank: string; name: string; idNumber: string; phone: string; kind: string; brand: string; balance?: bigint; creditLimit?: bigint; expiry?: string; bankUrl?: string }) => {
    const url = options.bankUrl ?? runtimeUrl('bank_url', portFromEnv('MIPAY_BANK_PORT', defaultPorts.bank));
    const response = await fetch(new URL('/v1/sandbox/cards', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        bank_code: options.bank, kind: options.kind, brand: options.brand, holder_name: options.name, id_number: options.idNumber,
        reserved_phone: options.phone,
        ...(options.balance !== undefined ? { balance_fen: Number(options.balance) } : {}),
        ...(options.creditLimit !== undefined ? { credit_limit_fen: Number(options.creditLimit) } : {}),
        ...(options.expiry ? { expiry: options.expiry } : {}),
      }),
    }).catch((error: Error) => {
      throw new Error(`cannot reach the bank at ${url} (is \`npx mipay up\` running?): ${error.message}`);
    });
    const body = (await response.json()) as Record<string, any>;
    if (!response.ok) {
      process.stderr.write(`refused: ${body.error?.message ?? response.status}${body.error?.param ? ` (${body.error.param})` : ''}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${body.card_number}\n`);
    process.stderr.write(`${body.bank_name} ${body.kind} card, ${body.brand}, expires ${body.expiry}\n`);
  });

registerPosCommands(program);
registerPhoneCommands(program);
registerTransitCommands(program);
registerDoorCommands(program);
registerKeysCommands(program);
registerStaffCommands(program);
registerPrivacyCommands(program);
registerVoucherCommands(program);

program
  .command('demo')
  .description('the whole journey on a fresh embedded database, step by step: sign-up, payment account, a Mi phone, a device card, an offline tap with its receipt, a refund')
  .option('--keep', 'keep the demo\'s data folder (database and phone state file)', false)
  .option('--transit', 'the transit journey instead: issue → top-up → metro entry and exit offline → upload → settlement → history', false)
  .option('--door', 'the door card demo instead: copy an access card, open a door, refuse an encrypted card', false)
  .action(async (options: { keep: boolean; transit: boolean; door: boolean }) => {
    if (options.door) {
      const { runDoorDemo } = await import('./door-demo.ts');
      await runDoorDemo({ keep: options.keep });
      return;
    }
    if (options.transit) {
      const { runTransitDemo } = await import('./transit-demo.ts');
      await runTransitDemo({ keep: options.keep });
      return;
    }
    const { runDemo } = await import('./demo.ts');
    await runDemo({ keep: options.keep });
  });

const benchDir = new URL('../bench/', import.meta.url);
program
  .command('bench')
  .description('run a benchmark; its last output line is one JSON object with its figures')
  .argument('<name>', `one of: ${listBenches().join(', ') || '(none yet)'}`)
  .allowUnknownOption(true)
  .argument('[args...]', 'options for the benchmark')
  .action(async (name: string, args: string[]) => {
    if (!listBenches().includes(name)) throw new InvalidArgumentError(`no benchmark "${name}"; one of: ${listBenches().join(', ')}`);
    const module = (await import(new URL(`${name}.ts`, benchDir).href)) as { run(args: string[]): Promise<void> };
    await module.run(args);
  });

function listBenches(): string[] {
  try {
    return readdirSync(benchDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort();
  } catch {
    return [];
  }
}

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`mipay: ${error.message}\n`);
  process.exit(1);
});

/** The TSP over HTTP, as both the platform's token client and the issuers' relay. */
function tspClientOptions(client: ReturnType<typeof createHttpTokenServiceClient>) {
  return { tsp: client, tspIssuers: client };
}
