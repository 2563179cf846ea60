// The tap bench's shoppers and shops: Mi phones (opened from their own state files) and POS
// terminals, in a worker thread so that they do not share an event loop with the network, the
// token service and the bank they measure. Each request is a user's whole tap: pick the card and
// fingerprint on the phone, the POS reads the phone over APDUs, ISO 8583 over TCP to the
// network → token service → bank, and back. A phone is in one payment at a time, as in life.
import { parentPort, workerData } from 'node:worker_threads';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { MiPhone } from '../phone/phone.ts';
import { PosTerminal } from '../terminal/client.ts';
import { closedLoop, openLoop, type Attempt, type Figures } from './_load.ts';

export interface TapTerminalsInput {
  networkHost: string;
  networkPort: number;
  terminals: { terminalId: string; merchantId: string; merchantName: string; mcc: string; terminalPinKeyHex: string }[];
  phones: { path: string; passphrase: string; finger: string; deviceCardId: string }[];
  rate: number;
  durationS: number;
  warmupS: number;
  concurrency: number;
}

export interface TapTerminalsOutput { fixed: Figures; max: Figures }

async function main(input: TapTerminalsInput): Promise<TapTerminalsOutput> {
  const clients: NetworkClient[] = [];
  const terminals = input.terminals.map((t) => {
    const network = createTcpNetworkClient({ host: input.networkHost, port: input.networkPort });
    clients.push(network);
    return new PosTerminal({ ...t, terminalPinKey: Buffer.from(t.terminalPinKeyHex, 'hex'), network, networkTimeoutMs: 10_000 });
  });
  const freePhones = await Promise.all(input.phones.map(async (p) => ({ phone: await MiPhone.open(p.path, p.passphrase), ...p })));
  let nextTerminal = 0;
  const once = async (): Promise<Attempt> => {
    const shopper = freePhones.shift();
    if (!shopper) return 'error';
    const terminal = terminals[nextTerminal++ % terminals.length]!;
    try {
      shopper.phone.pay({ deviceCardId: shopper.deviceCardId, finger: shopper.finger });
      const receipt = await terminal.charge({ amountFen: 1_234n, card: shopper.phone.paymentApplet() });
      return receipt.approved ? 'approved' : { declined: receipt.responseCode };
    } catch {
      return 'error';
    } finally {
      freePhones.push(shopper);
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
  main(workerData as TapTerminalsInput).then((output) => parentPort!.postMessage({ ok: true, output }), (error: Error) => parentPort!.postMessage({ ok: false, error: error.message }));
}
