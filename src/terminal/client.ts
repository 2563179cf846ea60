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
export { readContactlessCard, CardReadError, NO_CVM_LIMIT_FEN, terminalTransactionQualifiers, type CardRead } from './pos/kernel.ts';
/**
 * What a payment applet must answer for the bank (or a token service) to verify it: the same
 * APDU flow as the emulator, ARQC over the EMV Book 2 8.1.1 data (CDOL1 values + AIP + ATC) plus
 * the CVR, and 9F10 laid out as length, DKI, CVN (01 3DES, 04 SM4), CVR (4 bytes). A phone sets
 * CTQ (9F6C) byte 2 bit 8 after its fingerprint check so that no online PIN is asked.
 */
export { ContactlessCardEmulator, CARD_CDOL1, CARD_PDOL, UNIONPAY_CREDIT_AID, UNIONPAY_DEBIT_AID } from './card-emulator/contactless-card.ts';
/** Door readers (门禁): a UID allowlist with optional sector checks, and an event log. */
export {
  DoorReader, DoorReaderError, type AllowEntry, type DoorEvent, type DoorReaderState, type SectorCheck,
} from './door/door-reader.ts';
export { loadDoorReader, saveDoorReader } from './door/door-file.ts';
