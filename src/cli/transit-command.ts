// `mipay phone transit …` (the wallet's transit cards), `mipay gate tap|upload` (a transit gate
// or bus reader, its records in a file of the data folder) and `mipay transit settle` (the
// operator settles every gate's uploads). Gates get their PSAM keys from the keyring, as an
// operator's PSAM is issued with its keys.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { openFileKeyring } from '../infra/keys/keyring.ts';
import { PhoneError } from '../phone/party.ts';
import type { MiPhone } from '../phone/party.ts';
import { findTransitCard, setExpress, transitApplet, transitCards, type TransitCardSummary } from '../phone/transit-cards.ts';
import {
  afterTaps, closeTransitCard, issueTransitCard, moveTransitCardHere, returnTransitCardWithoutPhone, topUpTransitCard, transitBrands, transitHistory,
  transitSettings, type PaySource, type WireTransitCard,
} from '../phone/transit-wallet.ts';
import type { GateMode, TapOutcome } from '../terminal/gate/gate.ts';
import { createTransitGate } from '../terminal/gate/setup.ts';
import { BRANDS, brandByCode } from '../transit/brands.ts';
import { createHttpTransitClient } from '../transit/client.ts';
import { dataDir, defaultPorts, keyringPath } from './config.ts';
import { openPhone, type PhoneFileOptions } from './phone-file.ts';
import { transitApiKey, transitOperatorKeys } from './system.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
const yuan = (fen: bigint | number) => `¥${(Number(fen) / 100).toFixed(2)}`;

function fen(text: string): bigint {
  if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(text)) throw new InvalidArgumentError('an amount in yuan, e.g. 50 or 23.50');
  const [whole, cents = ''] = text.split('.');
  return BigInt(whole!) * 100n + BigInt(cents.padEnd(2, '0'));
}

async function run(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof PhoneError) throw new Error(`${error.message} [${error.code}${error.param ? `, param ${error.param}` : ''}]`);
    throw error;
  }
}

function cardLine(c: TransitCardSummary): string {
  return `${c.id}  ${c.brandName} (${c.kind === 'tunion' ? 'T-Union' : 'city'}) ${c.cardNumber}  ${yuan(c.balanceFen)}  ${c.status}${c.express ? '  EXPRESS' : ''}`;
}

function closedLine(c: WireTransitCard): string {
  const proven = c.proven_balance_fen === null ? 'balance from the operator\'s books' : `balance proved ${yuan(c.proven_balance_fen)}`;
  const refund = c.status === 'returned' && c.refund_after ? `; refunded after ${c.refund_after.slice(0, 10)} (settlement window)` : '';
  return `${c.id}  ${c.card_number ?? ''}  ${c.status}, ${proven}${refund}`;
}

function sourceOf(options: { from: string }): PaySource {
  return options.from === 'balance' ? { kind: 'balance' } : { kind: 'card', card_id: options.from };
}

function runtime(key: 'transit_url'): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dataDir(), 'runtime.json'), 'utf8')) as Record<string, string>)[key];
  } catch {
    return undefined;
  }
}

function operatorClient(options: { transitUrl?: string }) {
  const keyring = openFileKeyring(keyringPath(), { create: false });
  return createHttpTransitClient({ baseUrl: options.transitUrl ?? runtime('transit_url') ?? `http://127.0.0.1:${defaultPorts.transit}`, apiKey: transitApiKey(keyring) });
}

export function registerTransitCommands(program: Command): void {
  const phone = program.commands.find((c) => c.name() === 'phone');
  if (!phone) throw new Error('register the phone commands first');
  const transit = phone.command('transit').description('transit cards (小米公交): brands, issue, top up, express mode, history, move, return');
  const command = (name: string, description: string) => transit.command(name).description(description)
    .option('--phone <file>', 'the phone\'s state file (default: phone.se.json in MIPAY_DATA_DIR)')
    .option('--passphrase <text>', 'the state file\'s passphrase (default: MIPAY_PHONE_PASSPHRASE)');
  const withPhone = (options: PhoneFileOptions, work: (p: MiPhone) => Promise<void>) => run(async () => work(await openPhone(options)));

  command('brands', 'the transit brands (online): fees, top-up limits, status and replacement of retired ones')
    .action((o: PhoneFileOptions) => withPhone(o, async (p) => {
      for (const b of await transitBrands(p)) {
        const retired = b.status === 'retired' ? `  RETIRED → ${b.replacement?.note ?? '-'}` : '';
        out(`${b.code.padEnd(16)} ${b.name}  ${b.kind === 'tunion' ? 'T-Union' : 'city'}  fee ${yuan(b.issueFeeFen)} deposit ${yuan(b.depositFen)}  top-up ${yuan(b.topUpMinFen)}–${yuan(b.topUpMaxFen)}${retired}`);
      }
    }));
  command('list', 'the transit cards on this phone (offline)')
    .action((o: PhoneFileOptions) => withPhone(o, async (p) => {
      const cards = transitCards(p);
      if (cards.length === 0) out('no transit card on this phone: mipay phone transit issue --brand <code>');
      for (const c of cards) out(cardLine(c));
    }));
  command('issue', 'issue a transit card onto this phone (online); the fee and deposit are paid from --from')
    .requiredOption('--brand <code>', 'brand code (mipay phone transit brands)')
    .requiredOption('--payment-password <digits>', 'the payment password')
    .option('--from <source>', '"balance" or a bound card id', 'balance')
    .action((o: PhoneFileOptions & { brand: string; paymentPassword: string; from: string }) => withPhone(o, async (p) => {
      out(cardLine(await issueTransitCard(p, { brand: o.brand, source: sourceOf(o), paymentPassword: o.paymentPassword })));
    }));
  command('top-up', 'top up a transit card (online): the platform takes the money, the operator signs, the card loads')
    .requiredOption('--card <id>', 'the transit card id or the last 4 digits of its number')
    .requiredOption('--amount <yuan>', 'e.g. 50', fen)
    .requiredOption('--payment-password <digits>', 'the payment password')
    .option('--from <source>', '"balance" or a bound card id', 'balance')
    .action((o: PhoneFileOptions & { card: string; amount: bigint; paymentPassword: string; from: string }) => withPhone(o, async (p) => {
      out(cardLine(await topUpTransitCard(p, { cardId: o.card, amountFen: o.amount, source: sourceOf(o), paymentPassword: o.paymentPassword })));
    }));
  command('express', 'express mode on or off: this card pays at a gate with the screen off and no fingerprint')
    .requiredOption('--card <id>', 'the transit card')
    .argument('<on|off>', 'on or off')
    .action((state: string, o: PhoneFileOptions & { card: string }) => withPhone(o, async (p) => {
      if (state !== 'on' && state !== 'off') throw new InvalidArgumentError('on or off');
      out(cardLine(setExpress(p, o.card, state === 'on')));
    }));
  command('history', 'trips and loads: the card\'s own records, merged with the operator\'s settled ones when online')
    .requiredOption('--card <id>', 'the transit card')
    .option('--offline', 'read the card only', false)
    .action((o: PhoneFileOptions & { card: string; offline: boolean }) => withPhone(o, async (p) => {
      for (const r of await transitHistory(p, o.card, { online: !o.offline })) {
        out(`${r.date} ${r.time}  ${r.kind.padEnd(8)} #${r.seq}  ${r.kind === 'load' ? '+' : '-'}${yuan(r.amountFen)}  ${r.source}${r.description ? `  ${r.description}` : ''}`);
      }
    }));
  command('auto-top-up', 'automatic top-up below a threshold and a low-balance alert (online)')
    .requiredOption('--card <id>', 'the transit card')
    .option('--below <yuan>', 'top up when the balance falls below', fen)
    .option('--amount <yuan>', 'by this much', fen)
    .option('--alert-below <yuan>', 'alert when the balance falls below', fen)
    .action((o: PhoneFileOptions & { card: string; below?: bigint; amount?: bigint; alertBelow?: bigint }) => withPhone(o, async (p) => {
      const auto = o.below !== undefined && o.amount !== undefined ? { belowFen: o.below, amountFen: o.amount } : null;
      out(cardLine(await transitSettings(p, { cardId: o.card, autoTopUp: auto, lowBalanceAlertFen: o.alertBelow ?? null })));
    }));
  command('check', 'after taps, online: the low-balance alert and the automatic top-up')
    .requiredOption('--card <id>', 'the transit card')
    .option('--payment-password <digits>', 'allows the automatic top-up from the balance')
    .action((o: PhoneFileOptions & { card: string; paymentPassword?: string }) => withPhone(o, async (p) => {
      const r = await afterTaps(p, { cardId: findTransitCard(p, o.card).id, paymentPassword: o.paymentPassword ?? null });
      out(r.alert ?? 'balance above the alert');
      if (r.toppedUpFen > 0n) out(`topped up automatically by ${yuan(r.toppedUpFen)}`);
    }));

  command('move-out', 'move a card off this phone (online): the card proves its balance and stops paying; then `move-in` on the new phone')
    .requiredOption('--card <id>', 'the transit card id or the last 4 digits of its number')
    .requiredOption('--payment-password <digits>', 'the payment password')
    .action((o: PhoneFileOptions & { card: string; paymentPassword: string }) => withPhone(o, async (p) => {
      const closed = await closeTransitCard(p, { cardId: o.card, reason: 'move', paymentPassword: o.paymentPassword });
      out(closedLine(closed));
      out(`on the new phone: mipay phone transit move-in --card ${closed.id}`);
    }));
  command('move-in', 'put a card moved off another phone onto this one (online), with the balance it proved')
    .requiredOption('--card <id>', 'the moved card\'s id (tc_…), as `move-out` printed it')
    .action((o: PhoneFileOptions & { card: string }) => withPhone(o, async (p) => {
      const moved = await moveTransitCardHere(p, { cardId: o.card });
      out(cardLine(moved));
      out(`carried ${yuan(moved.carriedFen)} from the old card`);
    }));
  command('return', 'return a card (online): it stops paying now; its balance is refunded after the operator\'s settlement window')
    .requiredOption('--card <id>', 'the transit card id (tc_… for a card on a lost phone, with --lost-phone) or the last 4 digits of its number')
    .requiredOption('--payment-password <digits>', 'the payment password')
    .option('--lost-phone', 'the card is on a lost phone: return it from this one, without its proof (the operator\'s books decide the refund)', false)
    .action((o: PhoneFileOptions & { card: string; paymentPassword: string; lostPhone: boolean }) => withPhone(o, async (p) => {
      const closed = o.lostPhone
        ? await returnTransitCardWithoutPhone(p, { cardId: o.card, paymentPassword: o.paymentPassword })
        : await closeTransitCard(p, { cardId: o.card, reason: 'return', paymentPassword: o.paymentPassword });
      out(closedLine(closed));
    }));

  const gate = program.command('gate').description('a transit gate or bus reader: offline e-purse taps, records in the data folder');
  const gateOptions = (c: Command) => c
    .option('--gate <id>', 'the gate id (its record file: gates/<id>.json in MIPAY_DATA_DIR)', 'gate-1')
    .option('--brand <code>', 'the operator (brand) the gate belongs to', 'jjj')
    .option('--transit-url <url>', 'the operators (default: the running mipay up)');
  gateOptions(gate.command('tap').description('tap a phone at the gate: bus (flat fare), metro entry or exit (fare by distance)'))
    .option('--phone <file>', 'the phone\'s state file')
    .option('--passphrase <text>', 'the state file\'s passphrase (default: MIPAY_PHONE_PASSPHRASE)')
    .option('--mode <mode>', 'bus, entry or exit', 'bus')
    .option('--station <n>', 'the metro station number (entry, exit)', (v) => Number.parseInt(v, 10), 1)
    .option('--card <id>', 'tap with this card picked and a fingerprint (default: express mode, screen off)')
    .option('--finger <name>', 'the finger, with --card', 'right-thumb')
    .action((o: PhoneFileOptions & { gate: string; brand: string; mode: string; station: number; card?: string; finger: string; transitUrl?: string }) => run(async () => {
      const mode: GateMode = o.mode === 'bus' ? { kind: 'bus' } : o.mode === 'entry' ? { kind: 'metro-entry', station: o.station }
        : o.mode === 'exit' ? { kind: 'metro-exit', station: o.station } : (() => { throw new InvalidArgumentError('--mode is bus, entry or exit'); })();
      const g = openGate(o.gate, o.brand, mode);
      try {
        await g.refreshBlacklist(operatorClient(o));
      } catch {
        out('(offline: the gate keeps its last blacklist)');
      }
      const p = await openPhone(o);
      const applet = o.card ? transitApplet(p, { cardId: o.card, finger: o.finger }) : transitApplet(p, { screenOff: true });
      out(describeTap(await g.tap(applet)));
      out(`${g.records.unsent.length} record(s) waiting for upload`);
    }));
  gateOptions(gate.command('upload').description('upload the gate\'s offline records to its operator'))
    .action((o: { gate: string; brand: string; transitUrl?: string }) => run(async () => {
      const result = await openGate(o.gate, o.brand, { kind: 'bus' }).upload(operatorClient(o));
      out(`settled ${result.settled} (through the T-Union clearing centre: ${result.cleared}), refused ${result.refused}`);
    }));

  program.command('transit').description('the transit operators').command('settle')
    .description('settle every gate\'s uploads in the data folder: each TAC verified, each (card, ATC) once')
    .option('--transit-url <url>', 'the operators (default: the running mipay up)')
    .action((o: { transitUrl?: string }) => run(async () => {
      const dir = join(dataDir(), 'gates');
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
      if (files.length === 0) out('no gate records in the data folder');
      for (const file of files) {
        const id = file.slice(0, -5);
        const config = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { brandCode?: string };
        const result = await openGate(id, config.brandCode ?? 'jjj', { kind: 'bus' }).upload(operatorClient(o));
        out(`${id}: settled ${result.settled} (cleared ${result.cleared}), refused ${result.refused}`);
      }
    }));
}

function openGate(id: string, brandCode: string, mode: GateMode) {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(id)) throw new InvalidArgumentError('--gate is 1–40 letters, digits, _ or -');
  const brand = brandByCode(brandCode);
  if (!brand) throw new InvalidArgumentError(`no brand ${brandCode}`);
  const keys = transitOperatorKeys(openFileKeyring(keyringPath(), { create: false }));
  mkdirSync(join(dataDir(), 'gates'), { recursive: true, mode: 0o700 });
  return createTransitGate({
    gateId: id, brand, brands: BRANDS, mode, storePath: join(dataDir(), 'gates', `${id}.json`),
    terminalId: createHash('sha256').update(`gate:${id}`).digest().subarray(0, 6), purchaseMasterKey: (code) => keys.get(code)!.purchase,
  });
}

function describeTap(t: TapOutcome): string {
  switch (t.outcome) {
    case 'charged': return `OPEN  charged ${yuan(t.amountFen)}, balance ${yuan(t.balanceFen)} (card ${t.cardNumber}, ATC ${t.offlineSeq})${t.recovered ? ', finished a torn tap' : ''}`;
    case 'entered': return `OPEN  entry recorded, balance ${yuan(t.balanceFen)} (card ${t.cardNumber})`;
    case 'refused': return `CLOSED  ${t.reason.replaceAll('_', ' ')}${t.detail ? `: ${t.detail}` : ''}`;
    case 'torn': return `CLOSED  the phone left the field (${t.step}); tap again`;
    default: return 'CLOSED';
  }
}
