// The auth bench's terminals: POS terminals and emulated contactless cards in a worker thread,
// so that the load generator does not share an event loop with the network and the bank it
// measures (in life they are different machines). Started by auth.ts; talks to the network over
// TCP like any terminal.
import { parentPort, workerData } from 'node:worker_threads';
import type { CardPersonalization } from '../bank/client.ts';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { ContactlessCardEmulator, PosTerminal } from '../terminal/client.ts';
import { closedLoop, openLoop, type Attempt, type Figures } from './_load.ts';

export interface TerminalsInput {
  networkHost: string;
  networkPort: number;
  terminals: { terminalId: string; merchantId: string; merchantName: string; mcc: string; terminalPinKeyHex: string }[];
  cards: CardPersonalization[];
  rate: number;
  durationS: number;
  warmupS: number;
  concurrency: number;
}

export interface TerminalsOutput { fixed: Figures; max: Figures }

async function main(input: TerminalsInput): Promise<TerminalsOutput> {
  const clients: NetworkClient[] = [];
  const terminals = input.terminals.map((t) => {
    const network = createTcpNetworkClient({ host: input.networkHost, port: input.networkPort });
    clients.push(network);
    return new PosTerminal({ ...t, terminalPinKey: Buffer.from(t.terminalPinKeyHex, 'hex'), network, networkTimeoutMs: 10_000 });
  });
  // A card is never in two transactions at once, as in life: requests take a free card.
  const freeCards = input.cards.map((profile) => new ContactlessCardEmulator(profile));
  let nextTerminal = 0;
  const once = async (): Promise<Attempt> => {
    const card = freeCards.shift();
    if (!card) return 'error';
    const terminal = terminals[nextTerminal++ % terminals.length]!;
    try {
      const receipt = await terminal.charge({ amountFen: 1_234n, card });
      return receipt.approved ? 'approved' : { declined: receipt.responseCode };
    } catch {
      return 'error';
    } finally {
      freeCards.push(card);
    }
  };
  try {
    if (input.warmupS > 0) await openLoop(once, Math.min(input.rate, 200), input.warmupS);
    const fixed = await openLoop(once, input.rate, input.durationS);
    const max = await closedLoop(once, input.concurrency, input.durationS);
    return { fixed, max };
  } finally {
    for (const client of clients) await client.close();
  }
}

if (parentPort) {
  main(workerData as TerminalsInput).then((output) => parentPort!.postMessage({ ok: true, output }), (error: Error) => parentPort!.postMessage({ ok: false, error: error.message }));
}
