import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createBankParty } from '../bank/app.ts';
import { createHttpBankClient } from '../bank/client.ts';
import { bankMigrations, bankSchema } from '../bank/migrations/index.ts';
import { migrateSchema, openDatabase, type Database } from '../infra/db/database.ts';
import { createLogger, type Logger } from '../infra/log/logger.ts';
import { createPlatform } from '../platform/app.ts';
import { platformMigrations, platformSchema } from '../platform/migrations/index.ts';
import { SandboxSmsGateway, smsMigrations, smsSchema, type SmsTables } from '../sms/client.ts';
import { databaseConfig, dataDir, defaultPorts, describeDatabase, portFromEnv, version } from './config.ts';
import { createSystem, migrateAll } from './system.ts';
import { registerPhoneCommands } from './phone-command.ts';
import { paymentRuntime, registerClearingRoute, registerPosCommands, startPaymentPath } from './pos-command.ts';
import { acquireDataFolderLock } from './data-folder-lock.ts';

const program = new Command();
program.name('mipay').description('Mi Pay Open: a self-hostable mobile NFC payment platform').version(version);

const host = () => process.env.MIPAY_HOST ?? '127.0.0.1';

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

program
  .command('up')
  .description('start the platform and the banks in one process on one database (PGlite unless DATABASE_URL is set)')
  .action(async () => {
    const logger = createLogger({ name: 'mipay' });
    const config = databaseConfig();
    // One writer per PGlite folder: a second `mipay up` stops here, before it opens anything.
    const lock = config.kind === 'pglite' ? acquireDataFolderLock(dataDir(), 'up') : undefined;
    const database = await openDatabase(config);
    const system = await createSystem({ database, logger });
    const adminToken = randomBytes(24).toString('base64url');
    registerClearingRoute(system.platform.app, system.network, adminToken);
    const platformUrl = await system.platform.app.listen({ host: host(), port: portFromEnv('MIPAY_PLATFORM_PORT', defaultPorts.platform) });
    const bankUrl = await system.bank.app.listen({ host: host(), port: portFromEnv('MIPAY_BANK_PORT', defaultPorts.bank) });
    system.platform.startJobs();
    mkdirSync(dataDir(), { recursive: true });
    const paymentPath = await startPaymentPath(system, host());
    writeFileSync(join(dataDir(), 'runtime.json'), JSON.stringify({ platform_url: platformUrl, bank_url: bankUrl, ...paymentRuntime(paymentPath.network), pid: process.pid, admin_token: adminToken }, null, 2), { mode: 0o600 });
    closeOnSignal(logger, async () => {
      await Promise.all([system.platform.app.close(), system.bank.app.close(), paymentPath.close()]);
      await database.close();
      lock?.release();
    });
    process.stdout.write([
      '',
      `Mi Pay Open ${version} is up (sandbox mode: SMS messages are kept, not delivered)`,
      `  database      ${describeDatabase(config)}`,
      `  platform API  ${platformUrl}/v1     docs ${platformUrl}/docs   OpenAPI ${platformUrl}/openapi.json`,
      `  sandbox SMS   ${platformUrl}/v1/sandbox/sms?phone=<phone>`,
      `  banks         ${bankUrl}/v1/banks   docs ${bankUrl}/docs   ISO 8583 ${paymentPath.bankIso}`,
      `  network       ISO 8583 (TCP, 2-byte length) ${paymentPath.network}   try: npx mipay pos charge 23.50 --card <card-number>`,
      `  health        ${platformUrl}/healthz   metrics ${platformUrl}/metrics`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n') + '\n');
  });

program
  .command('serve')
  .description('run one party alone, on its own port and database')
  .argument('<party>', 'platform | bank')
  .action(async (party: string) => {
    const logger = createLogger({ name: `mipay-${party}` });
    const lock = databaseConfig().kind === 'pglite' ? acquireDataFolderLock(dataDir(), `serve ${party}`) : undefined;
    process.once('exit', () => lock?.release());
    const database = await openDatabase(databaseConfig());
    await migrateSchema(database, smsSchema, smsMigrations);
    const sms = new SandboxSmsGateway(database.forSchema<SmsTables>(smsSchema));
    if (party === 'bank') {
      const partnerKeys = (process.env.MIPAY_BANK_PARTNER_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
      if (partnerKeys.length === 0) throw new Error('MIPAY_BANK_PARTNER_KEYS must list the partner keys allowed to call the bank');
      await migrateSchema(database, bankSchema, bankMigrations);
      const bank = await createBankParty({ db: database.forSchema(bankSchema), sms, sandboxOutbox: sms, partnerKeys, logger, version });
      const url = await bank.app.listen({ host: host(), port: portFromEnv('MIPAY_BANK_PORT', defaultPorts.bank) });
      closeOnSignal(logger, async () => { await bank.app.close(); await database.close(); });
      process.stdout.write(`bank listening on ${url} (docs ${url}/docs)\n`);
    } else if (party === 'platform') {
      const bankUrl = process.env.MIPAY_BANK_URL;
      const partnerKey = process.env.MIPAY_BANK_PARTNER_KEY;
      if (!bankUrl || !partnerKey) throw new Error('the platform alone needs MIPAY_BANK_URL and MIPAY_BANK_PARTNER_KEY to reach the bank');
      await migrateSchema(database, platformSchema, platformMigrations);
      const platform = await createPlatform({
        db: database.forSchema(platformSchema), bank: createHttpBankClient({ baseUrl: bankUrl, partnerKey }), sms, sandboxOutbox: sms, logger, version,
      });
      const url = await platform.app.listen({ host: host(), port: portFromEnv('MIPAY_PLATFORM_PORT', defaultPorts.platform) });
      platform.startJobs();
      closeOnSignal(logger, async () => { await platform.app.close(); await database.close(); });
      process.stdout.write(`platform listening on ${url} (docs ${url}/docs)\n`);
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
    const database: Database = await openDatabase(config);
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

program
  .command('demo')
  .description('the whole journey on a fresh embedded database, step by step: sign-up, payment account, a Mi phone, a device card, an offline tap with its receipt, a refund')
  .option('--keep', 'keep the demo\'s data folder (database and phone state file)', false)
  .action(async (options: { keep: boolean }) => {
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
