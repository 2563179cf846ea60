// `mipay pos …` and `mipay network …`, and the payment path's part of `mipay up`: the banks'
// ISO 8583 endpoint and the network's terminal port, a sandbox POS terminal registered with
// the network (its ids and master key kept in the data folder, as a terminal keeps them in its
// secure memory; it signs on for working keys at each run), and emulated contactless cards kept there too, each with its ATC.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import type { CardPersonalization } from '../bank/client.ts';
import { openDatabase } from '../infra/db/database.ts';
import { commonErrors } from '../infra/http/errors.ts';
import type { App } from '../infra/http/server.ts';
import { produceClearingFile } from '../network/clearing.ts';
import { createTcpNetworkClient } from '../network/client.ts';
import { networkSchema } from '../network/migrations/index.ts';
import type { Network } from '../network/party.ts';
import { CardReadError, ContactlessCardEmulator, formatReceipt, PosError, PosTerminal, type ContactlessCard } from '../terminal/party.ts';
import { databaseConfig, dataDir, portFromEnv } from './config.ts';
import { openSecuredDatabase } from './data-folder.ts';
import { acquireDataFolderLock, lockOwner } from './data-folder-lock.ts';
import { openPhone, type PhoneFileOptions } from './phone-file.ts';
import { migrateAll, type System } from './system.ts';

export const paymentPorts = { bankIso: 7302, network: 7303 } as const;

interface TerminalFile { terminal_id: string; merchant_id: string; merchant_name: string; mcc: string; terminal_master_key?: string; last_stan: number }
interface RuntimeFile { bank_url?: string; network_host?: string; network_port?: number }

const terminalPath = () => join(dataDir(), 'pos-terminal.json');
const cardPath = (pan: string) => join(dataDir(), 'cards', `${pan}.json`);

/**
 * Opens the banks' ISO 8583 endpoint and the network's terminal port, and registers the
 * sandbox POS terminal on first start (a new master key each time it is registered).
 */
export async function startPaymentPath(system: System, host: string): Promise<{ network: string; bankIso: string; close(): Promise<void> }> {
  const bankIso = await system.bankAuthorization.endpoint.listen(portFromEnv('MIPAY_BANK_ISO_PORT', paymentPorts.bankIso), host);
  const network = await system.network.server.listen(portFromEnv('MIPAY_NETWORK_PORT', paymentPorts.network), host);
  const existing = readJson<TerminalFile>(terminalPath());
  const known = existing ? await system.network.terminals.find(existing.terminal_id) : undefined;
  if (!existing?.terminal_master_key || !known?.terminalMasterKey || known.terminalMasterKey.toString('hex') !== existing.terminal_master_key) {
    const registered = await system.network.registerTerminal({ terminalId: 'MIPOS001', merchantId: '898110058120001', merchantName: 'MI HOME BEIJING', mcc: '5732' });
    writeJson(terminalPath(), {
      terminal_id: registered.terminalId, merchant_id: registered.merchantId, merchant_name: registered.merchantName, mcc: registered.mcc,
      terminal_master_key: registered.terminalMasterKey.toString('hex'), last_stan: 0,
    } satisfies TerminalFile);
  }
  return {
    network: `${network.host}:${network.port}`,
    bankIso: `${bankIso.host}:${bankIso.port}`,
    async close() {
      await system.network.close();
      await system.bankAuthorization.endpoint.close();
    },
  };
}

export function yuanToFen(value: string): bigint {
  if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(value)) throw new InvalidArgumentError('an amount in yuan, e.g. 1000 or 99.50');
  const [whole, fraction = ''] = value.split('.');
  return BigInt(whole!) * 100n + BigInt(fraction.padEnd(2, '0'));
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

function loadTerminal(): TerminalFile {
  const terminal = readJson<TerminalFile>(terminalPath());
  if (!terminal) throw new Error(`no sandbox POS terminal in ${dataDir()}: start \`npx mipay up\` first`);
  return terminal;
}

/**
 * The card in the reader's field: an emulated plastic card (`--card`), or a phone (`--phone`,
 * its state file opened with its passphrase) whose payment applet answers and keeps its own state.
 */
async function cardInField(given: { card?: string; phone?: string | boolean } & Omit<PhoneFileOptions, 'phone'>): Promise<{ card: ContactlessCard; save(): void }> {
  // `--phone` alone means the phone in the data folder, as every `mipay phone` command does.
  const options = { ...given, phone: given.phone === true ? undefined : given.phone || undefined };
  if (given.card && given.phone) throw new InvalidArgumentError('tap a card (--card) or a phone (--phone), not both');
  if (given.phone) {
    const phone = await openPhone(options);
    // The applet writes the state file itself, before each answer that spends a key.
    return { card: phone.paymentApplet(), save: () => undefined };
  }
  if (!options.card) throw new InvalidArgumentError('which card is tapped: --card <card-number>, or a phone: --phone <state-file>');
  return loadCard(options.card);
}

/** A phone that refuses the reader was most likely not armed: say how to arm it. */
function phoneHint(options: PhoneFileOptions, error: unknown): unknown {
  if (!options.phone || !(error instanceof CardReadError) || error.code !== 'card_refused') return error;
  return new Error(`the phone refused the tap (${error.message}): arm it first with \`npx mipay phone pay --card <device-card-last-4> --finger <finger>\` and tap within 60 s`);
}

function loadCard(pan: string): { card: ContactlessCardEmulator; save(): void } {
  const profile = readJson<CardPersonalization>(cardPath(pan));
  if (!profile) throw new Error(`card ${pan.slice(-4)} is not loaded into the emulator: run \`npx mipay pos load-card ${pan} --pin <PIN>\``);
  const card = new ContactlessCardEmulator(profile);
  return { card, save: () => writeJson(cardPath(pan), { ...profile, atc: card.atc }) };
}

/** Fails in one line, before any card is read, when nothing listens at the network's port. */
async function requireNetworkListening(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = connect({ host, port });
    probe.setTimeout(2_000, () => probe.destroy(new Error('no answer within 2 s')));
    probe.once('connect', () => { probe.end(); resolve(); });
    probe.once('error', (error) => reject(new Error(`cannot reach the network at ${host}:${port} (is \`npx mipay up\` running?): ${error.message}`)));
  });
}

async function withTerminal<T>(work: (pos: PosTerminal) => Promise<T>): Promise<T> {
  const terminal = loadTerminal();
  const runtime = readJson<RuntimeFile>(join(dataDir(), 'runtime.json')) ?? {};
  await requireNetworkListening(runtime.network_host ?? '127.0.0.1', runtime.network_port ?? paymentPorts.network);
  const network = createTcpNetworkClient({ host: runtime.network_host ?? '127.0.0.1', port: runtime.network_port ?? paymentPorts.network });
  const pos = new PosTerminal({
    terminalId: terminal.terminal_id, merchantId: terminal.merchant_id, merchantName: terminal.merchant_name, mcc: terminal.mcc,
    terminalMasterKey: Buffer.from(terminal.terminal_master_key ?? '', 'hex'), network, lastStan: terminal.last_stan,
  });
  try {
    return await work(pos);
  } finally {
    writeJson(terminalPath(), { ...terminal, last_stan: pos.lastStan });
    await network.close();
  }
}

export function registerPosCommands(program: Command): void {
  const pos = program.command('pos').description('the sandbox POS terminal (UnionPay QuickPass reader + ISO 8583 to the network)');

  pos.command('load-card')
    .description('personalise an emulated contactless card from a sandbox bank card (keys from the bank) and set its PIN')
    .argument('<card-number>', 'the bank card number (all digits) printed by `npx mipay bank issue-card`')
    .option('--pin <pin>', 'the PIN to set (4–12 digits)')
    .option('--online-pin-always', 'the card asks for online PIN at every amount', false)
    .option('--bank-url <url>', 'the bank server (default: from the running `npx mipay up`)')
    .action(async (pan: string, options: { pin?: string; onlinePinAlways: boolean; bankUrl?: string }) => {
      const url = options.bankUrl ?? readJson<RuntimeFile>(join(dataDir(), 'runtime.json'))?.bank_url ?? 'http://127.0.0.1:7301';
      const response = await fetch(new URL('/v1/sandbox/cards/personalization', url), {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ card_number: pan, online_pin_always: options.onlinePinAlways, ...(options.pin ? { pin: options.pin } : {}) }),
      }).catch((error: Error) => {
        throw new Error(`cannot reach the bank at ${url} (is \`npx mipay up\` running?): ${error.message}`);
      });
      const b = (await response.json()) as Record<string, any>;
      if (!response.ok) throw new Error(`refused: ${b.error?.message ?? response.status}`);
      writeJson(cardPath(pan), {
        pan: b.pan, panSequence: b.pan_sequence, expiryYymm: b.expiry, holderName: b.holder_name, acAlgorithm: b.ac_algorithm,
        cryptogramVersion: b.cryptogram_version, cardMasterKeyAcHex: b.card_master_key_ac, atc: b.atc, onlinePinAlways: b.online_pin_always,
      } satisfies CardPersonalization);
      process.stdout.write(`card **** ${pan.slice(-4)} loaded (${b.ac_algorithm === 'sm4' ? 'SM4' : '3DES'} keys, ATC ${b.atc})${options.pin ? ', PIN set' : ''}\n`);
    });

  pos.command('charge')
    .description('tap a loaded card, or an armed Mi phone, for a purchase and print the receipt')
    .argument('<amount>', 'in yuan, e.g. 23.50', yuanToFen)
    .option('--card <card-number>', 'the bank card number (all digits) of a card loaded with `npx mipay pos load-card`')
    .option('--phone [file]', 'tap a Mi phone instead: its state file (default: phone.se.json in MIPAY_DATA_DIR), armed first with `npx mipay phone pay`')
    .option('--passphrase <text>', 'the phone\'s passphrase (default: MIPAY_PHONE_PASSPHRASE)')
    .option('--pin <pin>', 'the PIN the cardholder types when one is asked for')
    .option('--auth-only', 'a pre-authorization (0100, a hold) instead of a sale (0200)', false)
    .action(async (amountFen: bigint, options: { card?: string; pin?: string; authOnly: boolean } & PhoneFileOptions) => {
      const { card, save } = await cardInField(options);
      const receipt = await withTerminal((terminal) => terminal.charge({
        amountFen, card, mode: options.authOnly ? 'authorization' : 'purchase',
        ...(options.pin ? { pinPad: { enterPin: async () => options.pin! } } : {}),
      })).catch((error: unknown) => {
        if (error instanceof PosError && error.code === 'pin_required') throw new Error('this payment needs the cardholder\'s PIN (over ¥1,000, or the card asks for it): add --pin <PIN>');
        throw phoneHint(options, error);
      }).finally(save);
      process.stdout.write(`${formatReceipt(receipt)}\n`);
      if (!receipt.approved) process.exitCode = 2;
    });

  pos.command('refund')
    .description('refund (part of) an earlier sale by its RRN; the same card is tapped')
    .argument('<amount>', 'in yuan', yuanToFen)
    .option('--card <card-number>', 'the bank card number (all digits) of the original sale')
    .option('--phone [file]', 'or the Mi phone of the original sale: its state file (default: phone.se.json in MIPAY_DATA_DIR), armed first with `npx mipay phone pay`')
    .option('--passphrase <text>', 'the phone\'s passphrase (default: MIPAY_PHONE_PASSPHRASE)')
    .requiredOption('--rrn <rrn>', 'the RRN printed on the sale\'s receipt')
    .action(async (amountFen: bigint, options: { card?: string; rrn: string } & PhoneFileOptions) => {
      const { card, save } = await cardInField(options);
      const receipt = await withTerminal((terminal) => terminal.refund({ amountFen, card, originalRrn: options.rrn }))
        .catch((error: unknown) => { throw phoneHint(options, error); }).finally(save);
      process.stdout.write(`${formatReceipt(receipt)}\n`);
      if (!receipt.approved) process.exitCode = 2;
    });

  pos.command('complete')
    .description('complete a pre-authorization (charge --auth-only) by its RRN: the hold becomes a debit of this amount, up to 115% of it; no card is tapped')
    .argument('<amount>', 'in yuan', yuanToFen)
    .requiredOption('--rrn <rrn>', 'the RRN printed on the pre-authorization\'s receipt')
    .action(async (amountFen: bigint, options: { rrn: string }) => {
      const receipt = await withTerminal((terminal) => terminal.complete({ amountFen, originalRrn: options.rrn }));
      process.stdout.write(`${formatReceipt(receipt)}\n`);
      if (!receipt.approved) process.exitCode = 2;
    });

  program.command('network').description('the card network')
    .command('clearing')
    .description('print the end-of-day clearing file for a business day (reads the database: PostgreSQL, or PGlite: asks the running `npx mipay up`, or reads the folder when none runs)')
    .option('--date <YYYY-MM-DD>', 'business day in China time (default: today)')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (options: { date?: string; out?: string }) => {
      const date = options.date ?? new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
      if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(date)) throw new InvalidArgumentError('--date takes a day as YYYY-MM-DD');
      const config = databaseConfig();
      const write = (file: string) => (options.out ? writeFileSync(options.out, file) : process.stdout.write(file));
      // PGlite has one writer: while `mipay up` runs on the folder, ask it; open the folder only when none runs.
      const owner = config.kind === 'pglite' ? lockOwner(dataDir()) : undefined;
      if (owner) {
        write(await clearingFromRunningServer(date, owner.pid));
        return;
      }
      if (config.kind === 'pglite' && config.dataDir && !existsSync(config.dataDir)) throw new Error(`no database in ${config.dataDir}`);
      const lock = config.kind === 'pglite' ? acquireDataFolderLock(dataDir(), 'network clearing') : undefined;
      const database = await openSecuredDatabase(config);
      try {
        await migrateAll(database);
        write(await produceClearingFile(database.forSchema(networkSchema), { businessDate: date, acquirerId: '49990000' }));
      } finally {
        await database.close();
        lock?.release();
      }
    });
}

/**
 * `GET /internal/network/clearing?date=`: the clearing file from the running `mipay up`, for
 * `mipay network clearing` while the server holds the data folder. Loopback callers only, with
 * the token `mipay up` wrote to its runtime file (mode 0600); not part of the public API.
 */
export function registerClearingRoute(app: App, network: Pick<Network, 'clearingFile'>, adminToken: string): void {
  const expected = Buffer.from(`Bearer ${adminToken}`);
  app.get('/internal/network/clearing', {
    schema: {
      hide: true, summary: 'The network\'s clearing file for a business day (loopback only, with the runtime file\'s token)',
      querystring: z.object({ date: z.iso.date().describe('Business day, YYYY-MM-DD (China time)') }),
      errors: [commonErrors.authentication_required],
    },
  }, async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    const loopback = ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(request.socket.remoteAddress ?? '');
    if (!loopback || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw commonErrors.authentication_required('Only `mipay network clearing` on this machine, with the runtime file\'s token, may ask.');
    }
    void reply.header('content-type', 'text/plain; charset=utf-8');
    return network.clearingFile(request.query.date);
  });
}

async function clearingFromRunningServer(date: string, pid: number): Promise<string> {
  const runtime = readJson<RuntimeFile & { platform_url?: string; admin_token?: string }>(join(dataDir(), 'runtime.json'));
  if (!runtime?.platform_url || !runtime.admin_token) {
    throw new Error(`\`mipay up\` (pid ${pid}) holds ${dataDir()} but has not written its runtime file yet: try again in a moment`);
  }
  const url = new URL(`/internal/network/clearing?date=${date}`, runtime.platform_url);
  const response = await fetch(url, { headers: { authorization: `Bearer ${runtime.admin_token}` } }).catch((error: Error) => {
    throw new Error(`\`mipay up\` (pid ${pid}) holds ${dataDir()} but does not answer at ${runtime.platform_url}: ${error.message}`);
  });
  if (!response.ok) throw new Error(`the running \`mipay up\` (pid ${pid}) refused the clearing file: HTTP ${response.status}`);
  return response.text();
}

/** What `mipay up` adds to its runtime file so `mipay pos` finds the network. */
export function paymentRuntime(address: string): RuntimeFile {
  const [networkHost, networkPort] = address.split(':');
  return { network_host: networkHost!, network_port: Number(networkPort) };
}
