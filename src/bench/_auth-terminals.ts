// The auth bench's terminals: POS terminals and emulated contactless cards in a worker thread,
// so that the load generator does not share an event loop with the network and the bank it
// measures (in life they are different machines). Started by auth.ts; talks to the network over
// TCP like any terminal.
import type { CardPersonalization } from '../bank/client.ts';
import { ContactlessCardEmulator } from '../terminal/party.ts';
import { driveTerminals, fromPool, outcomeOf, serveBenchWorker, type TerminalsLoad, type TerminalsOutput } from './_terminals.ts';


export interface TerminalsInput extends TerminalsLoad {
  cards: CardPersonalization[];
}

async function main(input: TerminalsInput): Promise<TerminalsOutput> {
  const cards = input.cards.map((profile) => new ContactlessCardEmulator(profile));
  return driveTerminals(input, fromPool(cards, async (terminal, card) => outcomeOf(await terminal.charge({ amountFen: 1_234n, card }))));
}

serveBenchWorker(main);
