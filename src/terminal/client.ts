/**
 * The terminal party's interfaces (DESIGN section 5). A contactless card is anything that
 * answers command APDUs in the POS reader's field: the physical card emulator in
 * card-emulator/, and the phone's payment applet (next issue) which implements the same
 * interface. Other parties import this file and nothing else of the terminal.
 */
export interface ContactlessCard {
  /** One command APDU in, one response APDU out (ISO 7816-4 short APDUs). */
  transmit(command: Buffer): Promise<Buffer>;
}

/** The cardholder's side of the PIN pad. */
export interface PinPad {
  /** Asks the cardholder for the PIN; resolves with the digits entered. */
  enterPin(prompt: { amountFen: bigint; cardLast4: string }): Promise<string>;
}

export { PosTerminal, PosError, type PosTerminalOptions, type ChargeRequest, type RefundRequest } from './pos/pos-terminal.ts';
export { formatReceipt, type Receipt } from './pos/receipt.ts';
export { ContactlessCardEmulator } from './card-emulator/contactless-card.ts';
