// The ISO 8583:1987 message specification, as data. Which fields exist, their type and their
// length rule differ between networks; everything network-specific lives in the table below so
// that the codec stays generic. The table follows China UnionPay's CUPS profile of ISO 8583:1987
// (field numbers, names, types and lengths), reduced to the fields this project exchanges.
import assert from 'node:assert/strict';
import { responseCodes } from './response-codes.ts';

/**
 * ISO 8583:1987, 4.2 data element types: n numeric digits, an alphanumeric, ans alphanumeric and
 * special (printable ASCII), b binary, z track 2 / track 3 code set (digits and the '=' field
 * separator).
 */
export type FieldType = 'n' | 'an' | 'ans' | 'b' | 'z';
/** Fixed length, or variable with a 2-digit (LLVAR) or 3-digit (LLLVAR) length prefix. */
export type LengthKind = 'fixed' | 'LLVAR' | 'LLLVAR';
/**
 * How a field goes on the wire. 'ascii': length prefix as ASCII digits, n and z values as ASCII
 * characters. 'bcd': length prefix as packed BCD (LL in 1 byte, LLL in 2 bytes "0LLL"), n and z
 * values as packed BCD, the length counting digits. an/ans values are ASCII and b values are
 * raw bytes under either encoding.
 *
 * Odd digit counts in BCD: a fixed-length n value is right-justified with a leading 0 nibble;
 * a variable-length n value (the PAN) is left-justified with a trailing 0 nibble; a z value is
 * left-justified with a trailing F nibble and '=' is the nibble D, as in EMV tag 57.
 */
export type Encoding = 'ascii' | 'bcd';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly length: LengthKind;
  /** Exact length when fixed, maximum when variable: digits (n, z), characters (an, ans) or bytes (b). */
  readonly lengthMax: number;
  readonly encoding: Encoding;
}

export interface MessageSpec {
  readonly name: string;
  readonly mtiEncoding: Encoding;
  /** Field number (2–128, never 1 or 65, which are bitmaps) → its definition. */
  readonly fields: ReadonlyMap<number, FieldSpec>;
}

type FieldRow = readonly [field: number, name: string, type: FieldType, length: LengthKind, lengthMax: number];

// CUPS field table. b lengths are in bytes (ISO 8583 writes field 52 as b64, in bits).
const CUPS_FIELDS: readonly FieldRow[] = [
  [2, 'Primary account number', 'n', 'LLVAR', 19],
  [3, 'Processing code', 'n', 'fixed', 6],
  [4, 'Amount, transaction', 'n', 'fixed', 12],
  [5, 'Amount, settlement', 'n', 'fixed', 12],
  [6, 'Amount, cardholder billing', 'n', 'fixed', 12],
  [7, 'Transmission date and time (MMDDhhmmss)', 'n', 'fixed', 10],
  [9, 'Conversion rate, settlement', 'n', 'fixed', 8],
  [10, 'Conversion rate, cardholder billing', 'n', 'fixed', 8],
  [11, 'System trace audit number', 'n', 'fixed', 6],
  [12, 'Time, local transaction (hhmmss)', 'n', 'fixed', 6],
  [13, 'Date, local transaction (MMDD)', 'n', 'fixed', 4],
  [14, 'Date, expiration (YYMM)', 'n', 'fixed', 4],
  [15, 'Date, settlement (MMDD)', 'n', 'fixed', 4],
  [16, 'Date, conversion (MMDD)', 'n', 'fixed', 4],
  [18, 'Merchant type (MCC)', 'n', 'fixed', 4],
  [19, 'Acquiring institution country code', 'n', 'fixed', 3],
  [22, 'Point of service entry mode', 'n', 'fixed', 3],
  [23, 'Card sequence number', 'n', 'fixed', 3],
  [25, 'Point of service condition code', 'n', 'fixed', 2],
  [26, 'Point of service PIN capture code', 'n', 'fixed', 2],
  [32, 'Acquiring institution identification code', 'n', 'LLVAR', 11],
  [33, 'Forwarding institution identification code', 'n', 'LLVAR', 11],
  [35, 'Track 2 data', 'z', 'LLVAR', 37],
  [36, 'Track 3 data', 'z', 'LLLVAR', 104],
  [37, 'Retrieval reference number', 'an', 'fixed', 12],
  [38, 'Authorization identification response', 'an', 'fixed', 6],
  [39, 'Response code', 'an', 'fixed', 2],
  [41, 'Card acceptor terminal identification', 'ans', 'fixed', 8],
  [42, 'Card acceptor identification code', 'ans', 'fixed', 15],
  [43, 'Card acceptor name/location', 'ans', 'fixed', 40],
  [44, 'Additional response data', 'ans', 'LLVAR', 25],
  [45, 'Track 1 data', 'ans', 'LLVAR', 79],
  [48, 'Additional data, private', 'ans', 'LLLVAR', 512],
  [49, 'Currency code, transaction', 'n', 'fixed', 3],
  [50, 'Currency code, settlement', 'n', 'fixed', 3],
  [51, 'Currency code, cardholder billing', 'n', 'fixed', 3],
  [52, 'Personal identification number data', 'b', 'fixed', 8],
  [53, 'Security related control information', 'n', 'fixed', 16],
  [54, 'Additional amounts', 'an', 'LLLVAR', 40],
  [55, 'Integrated circuit card system related data', 'b', 'LLLVAR', 255],
  [57, 'Additional data, private', 'ans', 'LLLVAR', 100],
  [60, 'Reserved private', 'ans', 'LLLVAR', 100],
  [61, 'Cardholder authentication information', 'ans', 'LLLVAR', 200],
  [62, 'Switching data', 'ans', 'LLLVAR', 200],
  [63, 'Financial network data', 'ans', 'LLLVAR', 512],
  [64, 'Message authentication code', 'b', 'fixed', 8],
  [70, 'Network management information code', 'n', 'fixed', 3],
  [90, 'Original data elements', 'n', 'fixed', 42],
  [96, 'Message security code', 'b', 'fixed', 8],
  [100, 'Receiving institution identification code', 'n', 'LLVAR', 11],
  [102, 'Account identification 1', 'ans', 'LLVAR', 28],
  [103, 'Account identification 2', 'ans', 'LLVAR', 28],
  [121, 'CUPS reserved', 'ans', 'LLLVAR', 100],
  [122, 'Acquiring institution reserved', 'ans', 'LLLVAR', 100],
  [123, 'Issuer institution reserved', 'ans', 'LLLVAR', 100],
  [128, 'Message authentication code', 'b', 'fixed', 8],
];

const PREFIX_MAX: Record<LengthKind, number> = { fixed: Number.POSITIVE_INFINITY, LLVAR: 99, LLLVAR: 999 };

/**
 * Builds a MessageSpec from a field table, asserting that it is self-consistent (ISO 8583:1987,
 * 4.1: fields 2–128, 1 and 65 being bitmaps; a variable length fits its prefix). A broken table
 * is a programmer error and fails at load time.
 */
export function defineSpec(name: string, mtiEncoding: Encoding, fields: ReadonlyMap<number, FieldSpec>): MessageSpec {
  for (const [field, spec] of fields) {
    assert.ok(Number.isInteger(field) && field >= 2 && field <= 128 && field !== 65, `field ${field}: not a data field`);
    assert.ok(Number.isInteger(spec.lengthMax) && spec.lengthMax >= 1, `field ${field}: bad lengthMax`);
    assert.ok(spec.lengthMax <= PREFIX_MAX[spec.length], `field ${field}: lengthMax does not fit its prefix`);
  }
  return { name, mtiEncoding, fields };
}

function fieldsFromRows(rows: readonly FieldRow[], encoding: Encoding): Map<number, FieldSpec> {
  return new Map(rows.map(([field, name, type, length, lengthMax]) => [field, { name, type, length, lengthMax, encoding }]));
}

/** The default spec: CUPS fields, everything in ASCII (MTI, length prefixes, numeric values). */
export const CUPS_SPEC = defineSpec('CUPS ISO 8583:1987, ASCII', 'ascii', fieldsFromRows(CUPS_FIELDS, 'ascii'));
/** The same fields with the MTI, length prefixes and n/z values in packed BCD, as POS terminals send them. */
export const CUPS_BCD_SPEC = defineSpec('CUPS ISO 8583:1987, BCD', 'bcd', fieldsFromRows(CUPS_FIELDS, 'bcd'));

/** Message type indicators used between terminal, network and bank (ISO 8583:1987, 4.1.1). */
export const MTI = {
  AUTHORIZATION_REQUEST: '0100',
  AUTHORIZATION_RESPONSE: '0110',
  FINANCIAL_REQUEST: '0200',
  FINANCIAL_RESPONSE: '0210',
  FINANCIAL_ADVICE: '0220',
  FINANCIAL_ADVICE_RESPONSE: '0230',
  REVERSAL_REQUEST: '0400',
  REVERSAL_RESPONSE: '0410',
  REVERSAL_ADVICE: '0420',
  REVERSAL_ADVICE_RESPONSE: '0430',
  NETWORK_MANAGEMENT_REQUEST: '0800',
  NETWORK_MANAGEMENT_RESPONSE: '0810',
} as const;

/** The response MTI for a request or advice: message function digit + 1 (ISO 8583:1987, 4.1.1.3). */
export function responseMti(mti: string): string {
  assert.ok(/^0[0-9][02][0-9]$/.test(mti), 'responseMti takes a request or advice MTI');
  return `${mti.slice(0, 2)}${Number(mti[2]) + 1}${mti[3]}`;
}

/** Field 3 processing codes (ISO 8583:1987 annex; CUPS transaction type + account types). */
export const PROCESSING_CODE = {
  PURCHASE: '000000',
  BALANCE_INQUIRY: '310000',
  REFUND: '200000',
  PRE_AUTHORIZATION: '030000',
} as const;

/**
 * Field 70, network management information code (ISO 8583:1987 annex; CUPS): a terminal's
 * sign-on (new working keys), a key change on demand, and the echo test that keeps a link alive.
 */
export const NETWORK_MANAGEMENT_CODE = {
  SIGN_ON: '001',
  KEY_CHANGE: '101',
  ECHO_TEST: '301',
} as const;

/** Field 25, POS condition code (CUPS): a normal transaction, or the completion of a pre-authorization (0200 naming its 0100). */
export const POS_CONDITION_CODE = {
  NORMAL: '00',
  PREAUTH_COMPLETION: '06',
} as const;

/** Field 22 values: PAN entry mode (2 digits) + PIN entry capability (1 digit). */
export const POS_ENTRY_MODE = {
  CONTACTLESS_CHIP_PIN_CAPABLE: '071',
  CONTACTLESS_CHIP_NO_PIN: '072',
  CONTACT_CHIP_PIN_CAPABLE: '051',
  MANUAL_PIN_CAPABLE: '011',
  /** No card read (a pre-authorization completion: the card is the authorization's). */
  MANUAL_NO_PIN: '012',
} as const;

/** Field 39 response codes and their meanings (ISO 8583:1987 annex, CUPS usage). */
export const RESPONSE_CODES: ReadonlyMap<string, string> = new Map(responseCodes.map((entry) => [entry.code, entry.meaning]));

/** Field 4 (n12) from an amount in fen. Money is bigint; a negative or 13-digit amount is a programmer error. */
export function formatAmount(amountFen: bigint): string {
  assert.ok(amountFen >= 0n && amountFen < 10n ** 12n, 'amount out of the n12 range');
  return amountFen.toString().padStart(12, '0');
}

/** Field 4 (or 5, 6) back to fen. */
export function parseAmount(value: string): bigint {
  assert.ok(/^[0-9]{1,12}$/.test(value), 'amount field must be 1–12 digits');
  return BigInt(value);
}

/** Field 90 content (ISO 8583:1987; CUPS layout n4 + n6 + n10 + n11 + n11 = n42). */
export interface OriginalData {
  readonly mti: string;
  readonly stan: string;
  readonly transmissionDateTime: string;
  readonly acquirerId: string;
  readonly forwarderId: string;
}

/** Builds field 90 of a reversal from the original request; institution ids are zero-filled to 11. */
export function formatOriginalData(original: OriginalData): string {
  const { mti, stan, transmissionDateTime, acquirerId, forwarderId } = original;
  assert.ok(/^[0-9]{4}$/.test(mti) && /^[0-9]{6}$/.test(stan) && /^[0-9]{10}$/.test(transmissionDateTime), 'field 90 parts');
  assert.ok(/^[0-9]{0,11}$/.test(acquirerId) && /^[0-9]{0,11}$/.test(forwarderId), 'field 90 institution ids');
  return `${mti}${stan}${transmissionDateTime}${acquirerId.padStart(11, '0')}${forwarderId.padStart(11, '0')}`;
}

/** Splits field 90 into its parts (institution ids keep their zero fill). */
export function parseOriginalData(value: string): OriginalData {
  assert.ok(/^[0-9]{42}$/.test(value), 'field 90 must be 42 digits');
  return {
    mti: value.slice(0, 4),
    stan: value.slice(4, 10),
    transmissionDateTime: value.slice(10, 20),
    acquirerId: value.slice(20, 31),
    forwarderId: value.slice(31, 42),
  };
}
