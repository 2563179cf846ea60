// `npm run bench -- gate`: (1) the phone ↔ gate exchange — SELECT, READ BINARY, INITIALIZE,
// DEBIT with the PSAM's MAC1 and MAC2 check, the phone's durable state-file write included —
// p50/p99 against the 300 ms gate budget; (2) the operator settling uploaded records with every
// TAC verified, on PostgreSQL with DATABASE_URL (else PGlite), records per second.
// Options: --taps N (2,000), --records N (100,000), --cards N (1,000), --batch N (5,000), --gates N uploading at once (1).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { migrateSchema } from '../infra/db/database.ts';
import { MiPhone } from '../phone/party.ts';
import { TransitApplet } from '../phone/transit-applet.ts';
import { installIssuedCard, transitApplet } from '../phone/transit-cards.ts';
import { TRANSACTION_TYPE, diversifyCardKey, purchaseTac } from '../protocols/epurse/index.ts';
import { createTransitGate } from '../terminal/gate/setup.ts';
import { BRANDS, brandByCode } from '../transit/brands.ts';
import type { TapRecord } from '../transit/client.ts';
import { transitMigrations, transitSchema } from '../transit/migrations/index.ts';
import { TransitOperators } from '../transit/operators.ts';
import type { TransitTables } from '../transit/tables.ts';
import { openBenchDatabase } from './_database.ts';

const GATE_BUDGET_MS = 300;

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} takes a positive integer`);
  return value;
}
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function run(args: string[]): Promise<void> {
  const taps = option(args, 'taps', 2_000);
  const records = option(args, 'records', 100_000);
  const cards = option(args, 'cards', 1_000);
  const batch = option(args, 'batch', 5_000);
  const concurrentGates = option(args, 'gates', 1);
  const database = await openBenchDatabase('mipay_bench_gate');
  const dir = mkdtempSync(join(tmpdir(), 'mipay-bench-gate-'));
  try {
    await migrateSchema(database, transitSchema, transitMigrations);
    const keys = new Map(BRANDS.map((b) => [b.code, { purchase: randomBytes(16), load: randomBytes(16), tac: randomBytes(16) }]));
    const operators = new TransitOperators({ db: database.forSchema<TransitTables>(transitSchema), keys });
    const brand = brandByCode('jjj')!;

    // (1) The exchange: one phone with a real state file, one bus gate; the card holds enough for every tap.
    const phone = await MiPhone.create({ path: join(dir, 'phone.se'), passphrase: 'bench passphrase', platformUrl: 'http://127.0.0.1:1', passcode: '246810' });
    const issued = await operators.issueCard({ brandCode: 'jjj', requestId: 'bench-phone' });
    installIssuedCard(phone, { id: 'tc_bench', brand, issued });
    phone.mutableState.transitCards![0]!.balanceFen = '100000';
    phone.save();
    const gate = createTransitGate({
      gateId: 'bench', brand: { ...brand, fares: { busFen: 1n } }, brands: BRANDS, mode: { kind: 'bus' }, storePath: null,
      terminalId: Buffer.from('000000000001', 'hex'), purchaseMasterKey: (code) => keys.get(code)!.purchase,
    });
    // Compute: the secure element's write kept in memory. Durable: written and fsynced, as the phone does.
    const measure = async (durable: boolean) => {
      const times: number[] = [];
      for (let i = 0; i < taps; i++) {
        const applet = durable ? transitApplet(phone, { screenOff: true }) : new TransitApplet({ state: phone.mutableState, save: () => {} }, { pickedCardId: null });
        const started = performance.now();
        const outcome = await gate.tap(applet);
        times.push(performance.now() - started);
        if (outcome.outcome !== 'charged') throw new Error(`tap ${i}: ${JSON.stringify(outcome, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      }
      times.sort((a, b) => a - b);
      return { p50Ms: Number(percentile(times, 50).toFixed(3)), p99Ms: Number(percentile(times, 99).toFixed(3)), budgetMs: GATE_BUDGET_MS };
    };
    await measure(false); // warm-up: JIT and the ciphers' first use
    const exchange = await measure(false);
    const exchangeDurable = await measure(true);

    // (2) Settlement: records of `cards` cards with TACs computed as the cards would, plus 1% forged and 1% replayed.
    const numbers: string[] = [];
    for (let i = 0; i < cards; i++) numbers.push((await operators.issueCard({ brandCode: 'jjj', requestId: `bench-${i}` })).cardNumber);
    const tacKeys = numbers.map((n) => diversifyCardKey('tdes', keys.get('jjj')!.tac, n));
    const terminalId = Buffer.from('0000000000aa', 'hex');
    const uploads: TapRecord[] = [];
    for (let i = 0; i < records; i++) {
      const c = i % cards;
      const facts = { amountFen: 200n, transactionType: TRANSACTION_TYPE.purchase, terminalId, terminalSeq: i + 1, date: '20261130', time: '080000' };
      const tac = purchaseTac('tdes', tacKeys[c]!, facts).toString('hex');
      const forged = i % 100 === 1;
      uploads.push({ cardNumber: numbers[c]!, offlineSeq: Math.floor(i / cards), amountFen: forged ? 1n : 200n, transactionType: facts.transactionType,
        terminalId: terminalId.toString('hex'), terminalSeq: i + 1, date: facts.date, time: facts.time, tac });
      if (i % 100 === 2) uploads.push(uploads[uploads.length - 1]!);
    }
    let settled = 0;
    let rejected = 0;
    const started = performance.now();
    // Gates upload independently: `--gates` uploads in flight at once (default 1), each a batch.
    const batches: TapRecord[][] = [];
    for (let i = 0; i < uploads.length; i += batch) batches.push(uploads.slice(i, i + batch));
    let next = 0;
    await Promise.all(Array.from({ length: concurrentGates }, async (_, gateNo) => {
      while (next < batches.length) {
        const records = batches[next++]!;
        const result = await operators.upload({ gateId: `bench-${gateNo}`, brandCode: 'jjj', records });
        settled += result.settled;
        rejected += result.rejected.length;
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const settlement = { recordsPerSec: Math.round(uploads.length / seconds), rejected, settled, records: uploads.length, engine: database.kind };
    process.stdout.write([
      `phone ↔ gate exchange, ${taps} taps (SELECT, READ BINARY, INITIALIZE, DEBIT; PSAM MAC1/MAC2 on the gate side):`,
      `  compute: p50 ${exchange.p50Ms} ms   p99 ${exchange.p99Ms} ms   budget ${GATE_BUDGET_MS} ms (${Math.round(GATE_BUDGET_MS / exchange.p99Ms)}× inside at p99)`,
      `  with the phone's encrypted state file written and fsynced at DEBIT: p50 ${exchangeDurable.p50Ms} ms   p99 ${exchangeDurable.p99Ms} ms`,
      `operator settlement on ${database.kind}: ${uploads.length} records in batches of ${batch} from ${concurrentGates} gates at once, every TAC verified: ${settlement.recordsPerSec}/s`,
      `  settled ${settled}, rejected ${rejected} (forged TACs and replays)`,
      '',
    ].join('\n'));
    process.stdout.write(`${JSON.stringify({ exchange, exchangeDurable, settlement })}\n`);
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
