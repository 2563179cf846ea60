/**
 * The terminal party's face for other parties (DESIGN section 5): what a card or a cardholder
 * must offer a terminal. A contactless card is anything that answers command APDUs in the
 * reader's field (the shared transport in src/protocols/contactless.ts). This file imports
 * nothing else of the terminal; the cli builds terminals from ./party.ts.
 */
export type { ContactlessCard } from '../protocols/contactless.ts';

/** The cardholder's side of the PIN pad. */
export interface PinPad {
  /** Asks the cardholder for the PIN; resolves with the digits entered. */
  enterPin(prompt: { amountFen: bigint; cardLast4: string }): Promise<string>;
}
