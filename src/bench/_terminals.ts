// The terminal side shared by the benches' worker threads: POS terminals connected to the
// network over TCP, driven through the warm-up, fixed-rate and maximum phases, each request
// taking a free card (or phone) from a pool — a card is never in two payments at once.
import { parentPort, workerData } from 'node:worker_threads';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { PosTerminal, type Receipt } from '../terminal/party.ts';
import { closedLoop, emptyFigures, openLoop, type Attempt, type Figures } from './_load.ts';

export interface TerminalsLoad {
  networkHost: string;
  networkPort: number;
  terminals: { terminalId: string; merchantId: string; merchantName: string; mcc: string; terminalMasterKeyHex: string }[];
  rate: number;
  durationS: number;
  warmupS: number;
  concurrency: number;
}

/** The figures of each phase; the warm-up's are not reported, but its requests count in the CPU per request. */
export interface TerminalsOutput { warmup: Figures; fixed: Figures; max: Figures }

/** One payment's outcome from its receipt. */
export const outcomeOf = (receipt: Receipt): Attempt => (receipt.approved ? 'approved' : { declined: receipt.responseCode });

/**
 * `pay(terminal, item)` with an item taken from `pool` and put back after; a request finding the
 * pool empty waits for the next item put back (its latency counts the wait), and one failing on
 * the terminal side counts as an error. `afterUse` (a phone going online to top up its keys) runs
 * once the request has its outcome, outside its latency; the item returns to the pool when it is
 * done, or leaves it for good if `afterUse` fails.
 */
export function fromPool<T>(
  pool: T[], pay: (terminal: PosTerminal, item: T) => Promise<Attempt>, afterUse?: (item: T) => Promise<void>,
): ((terminal: PosTerminal) => Promise<Attempt>) & { settled(): Promise<void> } {
  const waiting: ((item: T) => void)[] = [];
  const running = new Set<Promise<void>>();
  const putBack = (item: T) => {
    const waiter = waiting.shift();
    if (waiter) waiter(item);
    else pool.push(item);
  };
  const release = (item: T) => {
    if (!afterUse) return putBack(item);
    const done = afterUse(item).then(() => putBack(item), (error: Error) => {
      process.emitWarning(`bench: an item left the pool: ${error.message}`);
    }).finally(() => running.delete(done));
    running.add(done);
  };
  const once = async (terminal: PosTerminal): Promise<Attempt> => {
    const item = pool.shift() ?? await new Promise<T>((resolve) => waiting.push(resolve));
    try {
      return await pay(terminal, item);
    } catch {
      return 'error';
    } finally {
      release(item);
    }
  };
  /** Resolves once no `afterUse` is running: the bench reports only when the system is quiet again. */
  const settled = async () => {
    while (running.size > 0) await Promise.all(running);
  };
  return Object.assign(once, { settled });
}

/**
 * Warm-up at the offered rate (not measured: connections opened, statements prepared, code
 * compiled), then `rate` for `durationS` (open loop), then `concurrency` in flight (closed loop),
 * round-robin over the terminals.
 */
export async function driveTerminals(load: TerminalsLoad, pay: (terminal: PosTerminal) => Promise<Attempt>): Promise<TerminalsOutput> {
  const clients: NetworkClient[] = [];
  const terminals = load.terminals.map((t) => {
    const network = createTcpNetworkClient({ host: load.networkHost, port: load.networkPort });
    clients.push(network);
    return new PosTerminal({ ...t, terminalMasterKey: Buffer.from(t.terminalMasterKeyHex, 'hex'), network, networkTimeoutMs: 10_000 });
  });
  // Each terminal signs on (0800, 001) for its working keys before the first sale, as at the start of a day.
  await Promise.all(terminals.map((terminal) => terminal.signOn()));
  let next = 0;
  const once = () => pay(terminals[next++ % terminals.length]!);
  try {
    const warmup = load.warmupS > 0 ? await openLoop(once, load.rate, load.warmupS) : emptyFigures();
    const fixed = await openLoop(once, load.rate, load.durationS);
    const max = await closedLoop(once, load.concurrency, load.durationS);
    return { warmup, fixed, max };
  } finally {
    for (const client of clients) await client.close();
  }
}

/** In a bench worker thread: runs `main` on the worker's data and posts its result (or its failure) to the bench. */
export function serveBenchWorker<I, O>(main: (input: I) => Promise<O>): void {
  if (!parentPort) return;
  main(workerData as I).then((output) => parentPort!.postMessage({ ok: true, output }), (error: Error) => parentPort!.postMessage({ ok: false, error: error.message }));
}
