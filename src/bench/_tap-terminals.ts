// The tap bench's shoppers and shops: Mi phones (opened from their own state files) and POS
// terminals, in a worker thread so that they do not share an event loop with the network, the
// token service and the bank they measure. Each request is a user's whole tap: pick the card and
// fingerprint on the phone, the POS reads the phone over APDUs, ISO 8583 over TCP to the
// network → token service → bank, and back. A phone is in one payment at a time, as in life.
import { MiPhone } from '../phone/party.ts';
import { sync } from '../phone/wallet.ts';
import { driveTerminals, fromPool, outcomeOf, serveBenchWorker, type TerminalsLoad, type TerminalsOutput } from './_terminals.ts';

/**
 * A phone with fewer keys left than its threshold goes online after its tap and asks for a batch
 * of 50 (the TSP's largest), as a phone does when it runs low. Thresholds are spread over
 * 30–119 keys: phones that all ran low on the same tap would replenish in one burst, which no
 * population of real phones does.
 */
const replenishBelowOf = (index: number) => 30 + ((index * 37) % 90);
const replenishCount = 50;

export interface TapTerminalsInput extends TerminalsLoad {
  phones: { path: string; passphrase: string; finger: string; deviceCardId: string }[];
}

async function main(input: TapTerminalsInput): Promise<TerminalsOutput> {
  const shoppers = await Promise.all(input.phones.map(async (p, i) => ({ phone: await MiPhone.open(p.path, p.passphrase), replenishBelow: replenishBelowOf(i), ...p })));
  const tap = fromPool(shoppers, async (terminal, shopper) => {
    shopper.phone.pay({ deviceCardId: shopper.deviceCardId, finger: shopper.finger });
    return outcomeOf(await terminal.charge({ amountFen: 1_234n, card: shopper.phone.paymentApplet() }));
  }, async (shopper) => {
    const keysLeft = shopper.phone.state.cards.find((c) => c.id === shopper.deviceCardId)?.luks.length ?? 0;
    if (keysLeft >= shopper.replenishBelow) return;
    const synced = await sync(shopper.phone, { replenishBelow: shopper.replenishBelow, replenishCount });
    if (synced.problems.length > 0) throw new Error(`phone sync: ${synced.problems.map((p) => p.code).join(', ')}`);
  });
  const output = await driveTerminals(input, tap);
  // Phones still syncing finish before the bench stops the platform they talk to.
  await tap.settled();
  return output;
}

serveBenchWorker(main);
