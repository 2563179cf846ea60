// The bench process's side of a terminal load (auth and tap benches): the load options and
// their bounds, sandbox POS terminals registered with the network, and the worker's warm-up,
// fixed-rate and maximum phases turned into figures and table rows.
import assert from 'node:assert/strict';
import type { RegisteredTerminal } from '../network/client.ts';
import { round, runBenchWorker, summarize, tableRow, type Figures } from './_load.ts';
import type { TerminalsLoad, TerminalsOutput } from './_terminals.ts';

/** `parseArgs` options of the load: offered rate, phase length, warm-up, requests in flight at maximum, terminals. */
export const loadOptions = {
  rate: { type: 'string', default: '500' },
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '5' },
  concurrency: { type: 'string', default: '32' },
  terminals: { type: 'string', default: '8' },
} as const;

export interface Load { rate: number; durationS: number; warmupS: number; concurrency: number; terminalCount: number }

/** The load options as numbers, each checked against its bounds (a clear message naming the option). */
export function parseLoad(
  values: { rate?: string; duration?: string; warmup?: string; concurrency?: string; terminals?: string },
  limits: { rateMax: number; durationSMax: number; warmupSMax: number; concurrencyMax: number; terminalsMax: number },
): Load {
  const load = {
    rate: Number(values.rate), durationS: Number(values.duration), warmupS: Number(values.warmup),
    concurrency: Number(values.concurrency), terminalCount: Number(values.terminals),
  };
  assert.ok(load.rate > 0 && load.rate <= limits.rateMax, `--rate 1..${limits.rateMax}`);
  assert.ok(load.durationS > 0 && load.durationS <= limits.durationSMax, `--duration 1..${limits.durationSMax}`);
  assert.ok(load.warmupS >= 0 && load.warmupS <= limits.warmupSMax, `--warmup 0..${limits.warmupSMax}`);
  assert.ok(Number.isInteger(load.concurrency) && load.concurrency >= 1 && load.concurrency <= limits.concurrencyMax, `--concurrency 1..${limits.concurrencyMax}`);
  assert.ok(Number.isInteger(load.terminalCount) && load.terminalCount >= 1 && load.terminalCount <= limits.terminalsMax, `--terminals 1..${limits.terminalsMax}`);
  return load;
}

/** `count` sandbox POS terminals registered with the network: ids `<terminalPrefix>00…` (8 characters) at merchants `<merchantPrefix>00…` (15). */
export async function registerBenchTerminals(
  network: { registerTerminal(terminal: { terminalId: string; merchantId: string; merchantName: string; mcc: string }): Promise<RegisteredTerminal> },
  count: number, ids: { terminalPrefix: string; merchantPrefix: string },
): Promise<TerminalsLoad['terminals']> {
  const terminals: TerminalsLoad['terminals'] = [];
  for (let i = 0; i < count; i++) {
    const registered = await network.registerTerminal({
      terminalId: `${ids.terminalPrefix}${String(i).padStart(8 - ids.terminalPrefix.length, '0')}`,
      merchantId: `${ids.merchantPrefix}${String(i).padStart(15 - ids.merchantPrefix.length, '0')}`, merchantName: 'BENCH MART', mcc: '5411',
    });
    terminals.push({ ...registered, terminalMasterKeyHex: registered.terminalMasterKey.toString('hex') });
  }
  return terminals;
}

/**
 * Runs the phases in the worker thread (its own event loop, like separate machines) and answers
 * their figures, this process's CPU per request meanwhile, and the phases' two table rows.
 */
export async function runPhases<I extends TerminalsLoad>(worker: URL, input: I) {
  const cpuBefore = process.cpuUsage();
  const { warmup, fixed, max } = await runBenchWorker<I, TerminalsOutput>(worker, input);
  const cpu = process.cpuUsage(cpuBefore);
  const requests = [warmup, fixed, max].reduce((n, f) => n + f.completed + f.declined + f.errors, 0);
  const perSec = (f: Figures) => round((f.completed + f.declined) / (f.elapsedMs / 1000));
  const fixedFigures = { offeredPerSec: input.rate, achievedPerSec: perSec(fixed), ...summarize(fixed) };
  const maxFigures = { concurrency: input.concurrency, perSec: perSec(max), ...summarize(max) };
  return {
    fixed: fixedFigures, max: maxFigures,
    /** No declines or errors at the fixed rate: a target on its p99 counts only then. */
    fixedClean: fixed.declined === 0 && fixed.errors === 0,
    processCpuMsPerRequest: round((cpu.user + cpu.system) / 1000 / Math.max(1, requests)),
    rows: [
      'phase            rate/s    p50 ms   p99 ms   max ms   ok      declined  errors',
      tableRow(`fixed ${input.rate}/s`, fixedFigures.achievedPerSec, fixedFigures),
      tableRow(`max (${input.concurrency} in flight)`, maxFigures.perSec, maxFigures),
    ],
  };
}
