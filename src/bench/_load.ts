// Load generation and figures shared by the benches that drive terminals: an open loop at a
// fixed offered rate (latency counted from each request's scheduled start, so a stall is not
// hidden by requests that were never sent) and a closed loop with a fixed number in flight.
import pino from 'pino';
import { createLogger, type Logger } from '../infra/log/logger.ts';

/** The benches' logger: errors only, on stderr, so that stdout ends with the figures' JSON line. */
export function benchLogger(): Logger {
  return createLogger({ name: 'mipay-bench', level: 'error', destination: pino.destination({ dest: 2, sync: false }) });
}

/** How one request ended. */
export type Attempt = 'approved' | 'error' | { declined: string };

export interface Figures { completed: number; declined: number; errors: number; latenciesMs: number[]; elapsedMs: number; declinedBy: Record<string, number> }

export const emptyFigures = (): Figures => ({ completed: 0, declined: 0, errors: 0, latenciesMs: [], elapsedMs: 0, declinedBy: {} });

/** Requests started on a fixed schedule, whatever the answers do; latency from the scheduled start. */
export async function openLoop(once: () => Promise<Attempt>, rate: number, durationS: number): Promise<Figures> {
  const figures = emptyFigures();
  const total = Math.round(rate * durationS);
  const intervalMs = 1000 / rate;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = started + i * intervalMs;
    const waitMs = scheduled - performance.now();
    if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    inFlight.push(once().then((outcome) => record(figures, outcome, performance.now() - scheduled)));
  }
  await Promise.all(inFlight);
  figures.elapsedMs = performance.now() - started;
  return figures;
}

/** `concurrency` requests always in flight for `durationS`. */
export async function closedLoop(once: () => Promise<Attempt>, concurrency: number, durationS: number): Promise<Figures> {
  const figures = emptyFigures();
  const started = performance.now();
  const deadline = started + durationS * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      const outcome = await once();
      record(figures, outcome, performance.now() - begun);
      // A request that fails at once must not spin the loop on microtasks and starve the I/O of the others.
      if (outcome === 'error') await new Promise((resolve) => setImmediate(resolve));
    }
  }));
  figures.elapsedMs = performance.now() - started;
  return figures;
}

function record(figures: Figures, outcome: Attempt, latencyMs: number): void {
  if (outcome === 'approved') figures.completed += 1;
  else if (outcome === 'error') figures.errors += 1;
  else {
    figures.declined += 1;
    figures.declinedBy[outcome.declined] = (figures.declinedBy[outcome.declined] ?? 0) + 1;
  }
  figures.latenciesMs.push(latencyMs);
}

/** The p-th quantile (0..1) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** The printed summary of one phase's figures. */
export function summarize(f: Figures) {
  return {
    completed: f.completed, declined: f.declined, declinedBy: f.declinedBy, errors: f.errors, p50Ms: round(percentile(f.latenciesMs, 0.5)),
    p99Ms: round(percentile(f.latenciesMs, 0.99)), maxMs: round(f.latenciesMs.reduce((a, b) => Math.max(a, b), 0)),
  };
}

export function tableRow(name: string, perSec: number, f: { p50Ms: number; p99Ms: number; maxMs: number; completed: number; declined: number; errors: number }): string {
  return [name.padEnd(16), String(perSec).padStart(7), String(f.p50Ms).padStart(9), String(f.p99Ms).padStart(8), String(f.maxMs).padStart(8),
    String(f.completed).padStart(7), String(f.declined).padStart(9), String(f.errors).padStart(7)].join(' ');
}

/** Starts a bench worker thread on a TypeScript entry (through tsx's loader, as bin/mipay.mjs does) and answers its one result. */
export async function runBenchWorker<I, O>(entry: URL, input: I): Promise<O> {
  const { Worker } = await import('node:worker_threads');
  return new Promise((resolve, reject) => {
    const loader = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
    const worker = new Worker(bootstrap, { eval: true, workerData: input });
    worker.once('message', (message: { ok: true; output: O } | { ok: false; error: string }) => {
      if (message.ok) resolve(message.output);
      else reject(new Error(`bench worker failed: ${message.error}`));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
