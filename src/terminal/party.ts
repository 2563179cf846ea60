/**
 * The terminal party as the cli (and test wiring) builds it: the POS with its EMV contactless
 * kernel and receipt, the physical card emulators, the transit gate and the door reader.
 * Other parties import ./client.ts instead.
 */
export type { ContactlessCard, PinPad } from './client.ts';
export {
  PosTerminal,
  PosError,
  type PosTerminalOptions,
  type ChargeRequest,
  type RefundRequest,
} from './pos/pos-terminal.ts';
export { formatReceipt, type Receipt } from './pos/receipt.ts';
export {
  readContactlessCard,
  CardReadError,
  NO_CVM_LIMIT_FEN,
  terminalTransactionQualifiers,
  type CardRead,
} from './pos/kernel.ts';
/**
 * What a payment applet must answer for the bank (or a token service) to verify it: the same
 * APDU flow as the emulator, ARQC over the EMV Book 2 8.1.1 data (CDOL1 values + AIP + ATC) plus
 * the CVR, and 9F10 laid out as length, DKI, CVN (01 3DES, 04 SM4), CVR (4 bytes). A phone sets
 * CTQ (9F6C) byte 2 bit 8 after its fingerprint check so that no online PIN is asked.
 */
export {
  ContactlessCardEmulator,
  CARD_CDOL1,
  CARD_PDOL,
  UNIONPAY_CREDIT_AID,
  UNIONPAY_DEBIT_AID,
} from './card-emulator/contactless-card.ts';
export { CpuCardEmulator } from './card-emulator/cpu-card.ts';
export {
  cardFromDumpFile,
  generateClassicCard,
  generateClassicImage,
  imageToProxmarkBin,
  imageToProxmarkJson,
  type GeneratedCardOptions,
} from './card-emulator/mifare-classic-card.ts';
/** Door readers (门禁): a UID allowlist with optional sector checks, and an event log. */
export {
  DoorReader,
  DoorReaderError,
  type AllowEntry,
  type DoorEvent,
  type DoorReaderState,
  type SectorCheck,
} from './door/door-reader.ts';
export { loadDoorReader, saveDoorReader } from './door/door-file.ts';
export { createTransitGate } from './gate/setup.ts';
export type { GateMode, TapOutcome } from './gate/gate.ts';
