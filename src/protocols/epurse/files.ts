// The e-purse application's public files (JR/T 0025.2; JT/T 978 for the T-Union layouts):
//   0x15 — issuer data: issuer id, application type and version, card number, validity;
//   0x18 — the cyclic transaction record file, newest first, 10 records of 23 bytes;
//   0x17 / 0x1A — the trip (composite application) record a metro gate writes at entry and
//                 reads at exit; which one a brand uses is brand data.
import { fixedLayout, type LayoutValue } from '../apdu.ts';

/** Short file identifiers of the e-purse application. */
export const EPURSE_FILE = { issuer: 0x15, tripTUnion: 0x17, transactions: 0x18, tripCity: 0x1a } as const;

/** File 0x15, 30 bytes: issuer id, type, version, card number (20 BCD digits), start and end dates, two bytes RFU. */
export const ISSUER_FILE = fixedLayout('issuer file 0x15', [
  ['issuerId', 8, 'bytes'],
  ['applicationType', 1, 'uint'],
  ['applicationVersion', 1, 'uint'],
  ['cardNumber', 10, 'bcd'],
  ['validFrom', 4, 'bcd'],
  ['validUntil', 4, 'bcd'],
  ['reserved', 2, 'bytes'],
]);
export type IssuerFile = LayoutValue<typeof ISSUER_FILE>;

/**
 * One record of the cyclic file 0x18, 23 bytes (JR/T 0025.2): the counter of the transaction
 * (online ATC for a load, offline ATC for a purchase), overdraft limit, amount, type, terminal
 * id, date and time.
 */
export const TRANSACTION_RECORD = fixedLayout('transaction record 0x18', [
  ['seq', 2, 'uint'],
  ['overdraftLimitFen', 3, 'amount'],
  ['amountFen', 4, 'amount'],
  ['transactionType', 1, 'uint'],
  ['terminalId', 6, 'bytes'],
  ['date', 4, 'bcd'],
  ['time', 3, 'bcd'],
]);
export type TransactionRecord = LayoutValue<typeof TRANSACTION_RECORD>;
/** The cyclic file keeps the newest 10 records (JR/T 0025.2 recommends at least 10). */
export const TRANSACTION_RECORDS_MAX = 10;

/**
 * The trip record (record 1 of 0x17 or 0x1A), 16 bytes: 01 = inside the network (entered, not yet
 * out), the entry station, the entering terminal's id, entry date and time. A metro exit
 * charges by it and writes it back with state 00.
 */
export const TRIP_RECORD = fixedLayout('trip record', [
  ['state', 1, 'uint'],
  ['station', 2, 'uint'],
  ['terminalId', 6, 'bytes'],
  ['date', 4, 'bcd'],
  ['time', 3, 'bcd'],
]);
export type TripRecord = LayoutValue<typeof TRIP_RECORD>;
export const TRIP_STATE = { out: 0x00, in: 0x01 } as const;
/** Trip records are written through UPDATE CAPP DATA CACHE into record 1 of the trip file. */
export const TRIP_RECORD_NUMBER = 1;
