// The tap bench's shoppers and shops: Mi phones (opened from their own state files) and POS
// terminals, in a worker thread so that they do not share an event loop with the network, the
// token service and the bank they measure. Each request is a user's whole tap: pick the card and
// fingerprint on the phone, the POS reads the phone over APDUs, ISO 8583 over TCP to the
// network → token service → bank, and back. A phone is in one payment at a time, as in life.
import { MiPhone } from '../phone/phone.ts';
import { sync } from '../phone/wallet.ts';
import { driveTerminals, fromPool, outcomeOf, serveBenchWorker, type TerminalsLoad, type TerminalsOutput } from './_terminals.ts';

/** A phone with fewer keys left goes online after its tap and asks for a batch of this many (the TSP's largest), as a phone does when it runs low. */
const replenishBelow = 60;
const replenishCount = 50;


export interface TapTerminalsInput extends TerminalsLoad {
  phones: { path: string; passphrase: string; finger: string; deviceCardId: string }[];
}

async function main(input: TapTerminalsInput): Promise<TerminalsOutput> {
  const shoppers = await Promise.all(input.phones.map(async (p) => ({ phone: await MiPhone.open(p.path, p.passphrase), ...p })));
  return driveTerminals(input, fromPool(shoppers, async (terminal, shopper) => {
    shopper.phone.pay({ deviceCardId: shopper.deviceCardId, finger: shopper.finger });
    return outcomeOf(await terminal.charge({ amountFen: 1_234n, card: shopper.phone.paymentApplet() }));
  }, async (shopper) => {
    const keysLeft = shopper.phone.state.cards.find((c) => c.id === shopper.deviceCardId)?.luks.length ?? 0;
    if (keysLeft >= replenishBelow) return;
    const synced = await sync(shopper.phone, { replenishBelow, replenishCount });
    if (synced.problems.length > 0) throw new Error(`phone sync: ${synced.problems.map((p) => p.code).join(', ')}`);
  }));
}

serveBenchWorker(main);
