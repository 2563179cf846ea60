// APDUs: ISO/IEC 7816-4 (2020), clause 5, short length fields only. EMV contactless and the
// PBOC e-purse never need extended lengths (the longest command here carries 255 bytes), so
// an extended-length APDU is refused rather than half supported.
// Also here: the status words both sides use, the EMV commands a POS sends (EMV 4.4 Book 3,
// 6.5) and the PBOC e-purse commands a transit gate or load terminal sends (JR/T 0025.2,
// electronic deposit / electronic purse application, commands 80 5C / 80 50 / 80 54 / 80 52).
import assert from 'node:assert/strict';
import { encodeTlv, tlv } from './tlv.ts';

export type ApduErrorCode =
  | 'too_short' // fewer than 4 header bytes, or a response without SW1 SW2
  | 'too_long' // more than a short APDU can hold
  | 'length_mismatch' // Lc disagrees with the bytes present, or a fixed-size data field has the wrong size
  | 'extended_length' // Lc = 00 followed by more bytes: ISO 7816-4 extended form, not supported
  | 'bad_cla' // CLA FF is reserved for PPS (ISO 7816-3)
  | 'bad_ins' // INS 6X and 9X are invalid (ISO 7816-4, 5.1.2)
  | 'bad_status_word' // SW1 outside 61–6F, 90–9F (ISO 7816-4, 5.6)
  | 'bad_data'; // a field that must be BCD is not

/** The one error APDU decoding throws. */
export class ApduError extends Error {
  override readonly name = 'ApduError';
  readonly code: ApduErrorCode;

  constructor(code: ApduErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * A command APDU. `le` is the number of response bytes expected, 1–256 (256 is sent as 00);
 * absent means no Le field (cases 1 and 3).
 */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Buffer;
  readonly le?: number;
}

/** A response APDU: data field and the status word SW1SW2 as one number (0x9000). */
export interface ResponseApdu {
  readonly data: Buffer;
  readonly sw: number;
}

const DATA_MAX = 255;
const RESPONSE_DATA_MAX = 256;

const isByte = (value: number): boolean => Number.isInteger(value) && value >= 0 && value <= 0xff;
const isValidIns = (ins: number): boolean => (ins & 0xf0) !== 0x60 && (ins & 0xf0) !== 0x90;

/** Encodes a command APDU, cases 1–4 short form (ISO 7816-4, 5.2). Bad fields are programmer errors. */
export function encodeCommandApdu(command: CommandApdu): Buffer {
  const { cla, ins, p1, p2, data, le } = command;
  assert.ok(isByte(cla) && cla !== 0xff, 'CLA must be a byte other than FF');
  assert.ok(isByte(ins) && isValidIns(ins), 'INS must be a byte outside 6X and 9X');
  assert.ok(isByte(p1) && isByte(p2), 'P1 and P2 must be bytes');
  assert.ok(data.length <= DATA_MAX, 'short APDU data is at most 255 bytes');
  assert.ok(le === undefined || (Number.isInteger(le) && le >= 1 && le <= 256), 'Le must be 1–256');
  const parts: Buffer[] = [Buffer.from([cla, ins, p1, p2])];
  if (data.length > 0) parts.push(Buffer.from([data.length]), data);
  if (le !== undefined) parts.push(Buffer.from([le & 0xff]));
  return Buffer.concat(parts);
}

/** Decodes a short command APDU, telling the four cases apart by length (ISO 7816-4, 5.2). */
export function decodeCommandApdu(bytes: Buffer): CommandApdu {
  if (bytes.length < 4) throw new ApduError('too_short', `command of ${bytes.length} bytes`);
  if (bytes.length > 4 + 1 + DATA_MAX + 1) throw new ApduError('too_long', `command of ${bytes.length} bytes`);
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  if (cla === 0xff) throw new ApduError('bad_cla', 'CLA FF');
  if (!isValidIns(ins)) throw new ApduError('bad_ins', `INS ${ins.toString(16).toUpperCase()}`);
  const header = { cla, ins, p1, p2 };
  if (bytes.length === 4) return { ...header, data: Buffer.alloc(0) }; // case 1
  const fifth = bytes[4]!;
  if (bytes.length === 5) return { ...header, data: Buffer.alloc(0), le: fifth === 0 ? 256 : fifth }; // case 2
  if (fifth === 0) throw new ApduError('extended_length', 'extended-length APDU');
  const data = Buffer.from(bytes.subarray(5, 5 + fifth));
  if (bytes.length === 5 + fifth) return { ...header, data }; // case 3
  if (bytes.length === 6 + fifth) {
    const le = bytes[5 + fifth]!;
    return { ...header, data, le: le === 0 ? 256 : le }; // case 4
  }
  throw new ApduError('length_mismatch', `Lc ${fifth} but ${bytes.length - 5} bytes follow the header`);
}

/** Encodes a response APDU: data then SW1 SW2 (ISO 7816-4, 5.3). */
export function encodeResponseApdu(response: ResponseApdu): Buffer {
  assert.ok(response.data.length <= RESPONSE_DATA_MAX, 'short response data is at most 256 bytes');
  assert.ok(isValidStatusWord(response.sw), 'invalid status word');
  const sw = Buffer.from([response.sw >> 8, response.sw & 0xff]);
  return Buffer.concat([response.data, sw]);
}

/** Decodes a response APDU (ISO 7816-4, 5.3). */
export function decodeResponseApdu(bytes: Buffer): ResponseApdu {
  if (bytes.length < 2) throw new ApduError('too_short', `response of ${bytes.length} bytes`);
  if (bytes.length > RESPONSE_DATA_MAX + 2) throw new ApduError('too_long', `response of ${bytes.length} bytes`);
  const sw = bytes.readUInt16BE(bytes.length - 2);
  if (!isValidStatusWord(sw)) throw new ApduError('bad_status_word', `SW ${sw.toString(16).toUpperCase()}`);
  return { data: Buffer.from(bytes.subarray(0, bytes.length - 2)), sw };
}

/** SW1 must be 61–6F or 90–9F (ISO 7816-4, 5.6; 60 is a T=0 procedure byte, not a status). */
export function isValidStatusWord(sw: number): boolean {
  const sw1 = sw >> 8;
  return Number.isInteger(sw) && sw >= 0 && sw <= 0xffff && ((sw1 >= 0x61 && sw1 <= 0x6f) || (sw1 >= 0x90 && sw1 <= 0x9f));
}

// Status words with their meanings (ISO 7816-4, 5.6 table 6; EMV Book 3, 6.3.5; JR/T 0025
// e-purse 93xx/94xx). 63Cx, 61xx and 6Cxx carry a number and are decoded by describeStatusWord.
const STATUS_WORDS = {
  OK: [0x9000, 'success'],
  SELECTED_FILE_INVALIDATED: [0x6283, 'selected file invalidated (application blocked)'],
  VERIFICATION_FAILED: [0x6300, 'verification failed'],
  WRONG_LENGTH: [0x6700, 'wrong length'],
  SECURITY_STATUS_NOT_SATISFIED: [0x6982, 'security status not satisfied'],
  AUTHENTICATION_METHOD_BLOCKED: [0x6983, 'authentication method blocked'],
  REFERENCE_DATA_NOT_USABLE: [0x6984, 'reference data not usable'],
  CONDITIONS_NOT_SATISFIED: [0x6985, 'conditions of use not satisfied'],
  WRONG_DATA: [0x6a80, 'incorrect parameters in the data field'],
  FUNCTION_NOT_SUPPORTED: [0x6a81, 'function not supported'],
  FILE_NOT_FOUND: [0x6a82, 'file or application not found'],
  RECORD_NOT_FOUND: [0x6a83, 'record not found'],
  INCORRECT_P1_P2: [0x6a86, 'incorrect parameters P1-P2'],
  REFERENCED_DATA_NOT_FOUND: [0x6a88, 'referenced data not found'],
  WRONG_P1_P2: [0x6b00, 'wrong parameters P1-P2'],
  INS_NOT_SUPPORTED: [0x6d00, 'instruction not supported'],
  CLA_NOT_SUPPORTED: [0x6e00, 'class not supported'],
  NO_PRECISE_DIAGNOSIS: [0x6f00, 'no precise diagnosis'],
  PBOC_MAC_INVALID: [0x9302, 'MAC invalid'],
  PBOC_APPLICATION_LOCKED: [0x9303, 'application permanently locked'],
  PBOC_INSUFFICIENT_BALANCE: [0x9401, 'insufficient balance'],
  PBOC_KEY_INDEX_NOT_SUPPORTED: [0x9403, 'key index not supported'],
  PBOC_MAC_UNAVAILABLE: [0x9406, 'required MAC unavailable'],
  PBOC_BALANCE_LIMIT_EXCEEDED: [0x9402, 'transaction would exceed the balance limit'],
} as const;

/** Status word constants, e.g. SW.FILE_NOT_FOUND = 0x6A82. */
export const SW = Object.fromEntries(Object.entries(STATUS_WORDS).map(([name, [sw]]) => [name, sw])) as {
  readonly [K in keyof typeof STATUS_WORDS]: number;
};
const SW_MEANINGS = new Map<number, string>(Object.values(STATUS_WORDS));

/** Verification tries left from SW 63Cx (ISO 7816-4, 5.6), or undefined for any other SW. */
export function retriesLeft(sw: number): number | undefined {
  return (sw & 0xfff0) === 0x63c0 ? sw & 0x0f : undefined;
}

/** A human-readable meaning of a status word, for logs and receipts (ISO 7816-4, 5.6). */
export function describeStatusWord(sw: number): string {
  const known = SW_MEANINGS.get(sw);
  if (known !== undefined) return known;
  const sw1 = sw >> 8;
  const sw2 = sw & 0xff;
  if (sw1 === 0x61) return `${sw2 === 0 ? 256 : sw2} more response bytes available`;
  if (sw1 === 0x6c) return `wrong Le: ${sw2 === 0 ? 256 : sw2} bytes available`;
  const retries = retriesLeft(sw);
  if (retries !== undefined) return `verification failed, ${retries} ${retries === 1 ? 'try' : 'tries'} left`;
  return `status ${sw.toString(16).toUpperCase().padStart(4, '0')}`;
}

// ---- EMV commands a POS sends (EMV 4.4 Book 3, 6.5; Book 1, 11.3 for SELECT) ----

/** "2PAY.SYS.DDF01", the Proximity Payment System Environment (EMV Book B, 3.3). */
export const PPSE_NAME = Buffer.from('2PAY.SYS.DDF01', 'ascii');

/** SELECT by DF name, 00 A4 04 P2 (EMV Book 1, 11.3.2): P2 00 first occurrence, 02 next. */
export function selectByName(name: Buffer, occurrence: 'first' | 'next' = 'first'): CommandApdu {
  assert.ok(name.length >= 1 && name.length <= 16, 'a DF name is 1–16 bytes');
  return { cla: 0x00, ins: 0xa4, p1: 0x04, p2: occurrence === 'first' ? 0x00 : 0x02, data: name, le: 256 };
}

/** SELECT PPSE, the first command of every contactless transaction (EMV Book B, 3.3). */
export function selectPpse(): CommandApdu {
  return selectByName(PPSE_NAME);
}

/** GET PROCESSING OPTIONS, 80 A8 00 00 with data 83 L PDOL-data (EMV Book 3, 6.5.8). */
export function getProcessingOptions(pdolData: Buffer = Buffer.alloc(0)): CommandApdu {
  const data = encodeTlv(tlv('83', pdolData));
  assert.ok(data.length <= DATA_MAX, 'PDOL data too long for a short APDU');
  return { cla: 0x80, ins: 0xa8, p1: 0x00, p2: 0x00, data, le: 256 };
}

/** READ RECORD, 00 B2 record (SFI << 3 | 4) (EMV Book 3, 6.5.11). SFI 1–30. */
export function readRecord(sfi: number, record: number): CommandApdu {
  assert.ok(Number.isInteger(sfi) && sfi >= 1 && sfi <= 30, 'SFI must be 1–30');
  assert.ok(Number.isInteger(record) && record >= 1 && record <= 255, 'record number must be 1–255');
  return { cla: 0x00, ins: 0xb2, p1: record, p2: (sfi << 3) | 0x04, data: Buffer.alloc(0), le: 256 };
}

/** Cryptogram types a terminal asks GENERATE AC for (EMV Book 3, 6.5.5.2, table 12). */
export type CryptogramType = 'AAC' | 'TC' | 'ARQC';
const CRYPTOGRAM_P1: Record<CryptogramType, number> = { AAC: 0x00, TC: 0x40, ARQC: 0x80 };

/** GENERATE AC, 80 AE P1 00 with CDOL data (EMV Book 3, 6.5.5); P1 b5 asks for CDA. */
export function generateAc(type: CryptogramType, cdolData: Buffer, options: { cda?: boolean } = {}): CommandApdu {
  const p1 = CRYPTOGRAM_P1[type] | (options.cda === true ? 0x10 : 0x00);
  return { cla: 0x80, ins: 0xae, p1, p2: 0x00, data: cdolData, le: 256 };
}

/** GET DATA, 80 CA P1 P2 for a one- or two-byte tag such as 9F36 ATC (EMV Book 3, 6.5.7). */
export function getData(tag: string): CommandApdu {
  assert.ok(/^(?:[0-9A-F]{2}){1,2}$/i.test(tag), 'GET DATA takes a 1–2 byte tag');
  const value = Number.parseInt(tag, 16);
  return { cla: 0x80, ins: 0xca, p1: value >> 8, p2: value & 0xff, data: Buffer.alloc(0), le: 256 };
}

// ---- PBOC e-purse commands (JR/T 0025.2, electronic purse application) ----
// Every command and response of the e-purse has a fixed layout, so one small table-driven
// codec serves both sides: the terminal builds commands and parses responses, the phone's
// transit applet parses commands and builds responses. Amounts are unsigned binary in fen.

type FieldKind = 'uint' | 'amount' | 'bytes' | 'bcd';
interface FieldKindValue { uint: number; amount: bigint; bytes: Buffer; bcd: string }
type FieldDef = readonly [name: string, byteLength: number, kind: FieldKind];
type StructValue<F extends readonly FieldDef[]> = { [E in F[number] as E[0]]: FieldKindValue[E[2]] };

/** A fixed-layout data field: `decode` throws ApduError, `encode` asserts its input. */
export interface FixedLayout<T> {
  readonly byteLength: number;
  encode(value: T): Buffer;
  decode(data: Buffer): T;
}
export type LayoutValue<L> = L extends FixedLayout<infer T> ? T : never;

export function fixedLayout<const F extends readonly FieldDef[]>(what: string, fields: F): FixedLayout<StructValue<F>> {
  const byteLength = fields.reduce((total, [, length]) => total + length, 0);
  return {
    byteLength,
    encode(value) {
      const record = value as Record<string, FieldKindValue[FieldKind]>;
      return Buffer.concat(fields.map(([name, length, kind]) => encodeField(what, name, length, kind, record[name])));
    },
    decode(data) {
      if (data.length !== byteLength) throw new ApduError('length_mismatch', `${what}: ${data.length} bytes, ${byteLength} expected`);
      const record: Record<string, FieldKindValue[FieldKind]> = {};
      let offset = 0;
      for (const [name, length, kind] of fields) {
        const bytes = Buffer.from(data.subarray(offset, offset + length));
        offset += length;
        if (kind === 'uint') record[name] = bytes.readUIntBE(0, length);
        else if (kind === 'amount') record[name] = BigInt(bytes.readUIntBE(0, length));
        else if (kind === 'bytes') record[name] = bytes;
        else {
          const digits = bytes.toString('hex');
          if (!/^[0-9]*$/.test(digits)) throw new ApduError('bad_data', `${what}: ${name} is not BCD`);
          record[name] = digits;
        }
      }
      return record as StructValue<F>;
    },
  };
}

function encodeField(what: string, name: string, length: number, kind: FieldKind, value: unknown): Buffer {
  const label = `${what}: ${name}`;
  if (kind === 'bytes') {
    assert.ok(Buffer.isBuffer(value) && value.length === length, `${label} must be ${length} bytes`);
    return value;
  }
  if (kind === 'bcd') {
    assert.ok(typeof value === 'string' && value.length === length * 2 && /^[0-9]*$/.test(value), `${label} must be ${length * 2} digits`);
    return Buffer.from(value, 'hex');
  }
  const number = kind === 'amount' ? value : BigInt(value as number);
  assert.ok(typeof number === 'bigint' && number >= 0n && number < 1n << BigInt(8 * length), `${label} out of range`);
  const bytes = Buffer.alloc(length);
  bytes.writeUIntBE(Number(number), 0, length);
  return bytes;
}

/** INITIALIZE FOR PURCHASE / LOAD command data: key index, amount, terminal (PSAM) number. */
export const INITIALIZE_DATA = fixedLayout('INITIALIZE data', [
  ['keyIndex', 1, 'uint'],
  ['amountFen', 4, 'amount'],
  ['terminalId', 6, 'bytes'],
]);
/** INITIALIZE FOR PURCHASE response: balance, offline counter, overdraft, key version, algorithm, random. */
export const INITIALIZE_FOR_PURCHASE_RESPONSE = fixedLayout('INITIALIZE FOR PURCHASE response', [
  ['balanceFen', 4, 'amount'],
  ['offlineSeq', 2, 'uint'],
  ['overdraftLimitFen', 3, 'amount'],
  ['keyVersion', 1, 'uint'],
  ['algorithmId', 1, 'uint'],
  ['random', 4, 'bytes'],
]);
/** DEBIT FOR PURCHASE command data: terminal transaction number, date YYYYMMDD, time HHMMSS, MAC1. */
export const DEBIT_FOR_PURCHASE_DATA = fixedLayout('DEBIT FOR PURCHASE data', [
  ['terminalSeq', 4, 'uint'],
  ['date', 4, 'bcd'],
  ['time', 3, 'bcd'],
  ['mac1', 4, 'bytes'],
]);
/** DEBIT FOR PURCHASE response: TAC and MAC2. */
export const DEBIT_FOR_PURCHASE_RESPONSE = fixedLayout('DEBIT FOR PURCHASE response', [
  ['tac', 4, 'bytes'],
  ['mac2', 4, 'bytes'],
]);
/** INITIALIZE FOR LOAD response: balance, online counter, key version, algorithm, random, MAC1. */
export const INITIALIZE_FOR_LOAD_RESPONSE = fixedLayout('INITIALIZE FOR LOAD response', [
  ['balanceFen', 4, 'amount'],
  ['onlineSeq', 2, 'uint'],
  ['keyVersion', 1, 'uint'],
  ['algorithmId', 1, 'uint'],
  ['random', 4, 'bytes'],
  ['mac1', 4, 'bytes'],
]);
/** CREDIT FOR LOAD command data: date YYYYMMDD, time HHMMSS, MAC2 from the issuer. */
export const CREDIT_FOR_LOAD_DATA = fixedLayout('CREDIT FOR LOAD data', [
  ['date', 4, 'bcd'],
  ['time', 3, 'bcd'],
  ['mac2', 4, 'bytes'],
]);
/** CREDIT FOR LOAD response: TAC. */
export const CREDIT_FOR_LOAD_RESPONSE = fixedLayout('CREDIT FOR LOAD response', [['tac', 4, 'bytes']]);
/** GET BALANCE response: the balance in fen. */
export const GET_BALANCE_RESPONSE = fixedLayout('GET BALANCE response', [['balanceFen', 4, 'amount']]);

export type InitializeData = LayoutValue<typeof INITIALIZE_DATA>;
export type InitializeForPurchaseResponse = LayoutValue<typeof INITIALIZE_FOR_PURCHASE_RESPONSE>;
export type DebitForPurchaseData = LayoutValue<typeof DEBIT_FOR_PURCHASE_DATA>;
export type DebitForPurchaseResponse = LayoutValue<typeof DEBIT_FOR_PURCHASE_RESPONSE>;
export type InitializeForLoadResponse = LayoutValue<typeof INITIALIZE_FOR_LOAD_RESPONSE>;
export type CreditForLoadData = LayoutValue<typeof CREDIT_FOR_LOAD_DATA>;
export type CreditForLoadResponse = LayoutValue<typeof CREDIT_FOR_LOAD_RESPONSE>;

/** P2 of the e-purse commands: 02 selects the electronic purse (01 would be the deposit). */
const PURSE = 0x02;

/** GET BALANCE, 80 5C 00 02 04 (JR/T 0025.2, e-purse GET BALANCE). */
export function getBalance(): CommandApdu {
  return { cla: 0x80, ins: 0x5c, p1: 0x00, p2: PURSE, data: Buffer.alloc(0), le: GET_BALANCE_RESPONSE.byteLength };
}

/** INITIALIZE FOR PURCHASE, 80 50 01 02 0B … 0F (JR/T 0025.2). */
export function initializeForPurchase(data: InitializeData): CommandApdu {
  const le = INITIALIZE_FOR_PURCHASE_RESPONSE.byteLength;
  return { cla: 0x80, ins: 0x50, p1: 0x01, p2: PURSE, data: INITIALIZE_DATA.encode(data), le };
}

/** DEBIT FOR PURCHASE, 80 54 01 00 0F … 08 (JR/T 0025.2). */
export function debitForPurchase(data: DebitForPurchaseData): CommandApdu {
  const le = DEBIT_FOR_PURCHASE_RESPONSE.byteLength;
  return { cla: 0x80, ins: 0x54, p1: 0x01, p2: 0x00, data: DEBIT_FOR_PURCHASE_DATA.encode(data), le };
}

/** INITIALIZE FOR LOAD, 80 50 00 02 0B … 10 (JR/T 0025.2). */
export function initializeForLoad(data: InitializeData): CommandApdu {
  const le = INITIALIZE_FOR_LOAD_RESPONSE.byteLength;
  return { cla: 0x80, ins: 0x50, p1: 0x00, p2: PURSE, data: INITIALIZE_DATA.encode(data), le };
}

/** CREDIT FOR LOAD, 80 52 00 00 0B … 04 (JR/T 0025.2). */
export function creditForLoad(data: CreditForLoadData): CommandApdu {
  const le = CREDIT_FOR_LOAD_RESPONSE.byteLength;
  return { cla: 0x80, ins: 0x52, p1: 0x00, p2: 0x00, data: CREDIT_FOR_LOAD_DATA.encode(data), le };
}

// ---- More e-purse commands (JR/T 0025.2; JT/T 978 for the composite, "CAPP", purchase) ----

/** READ BINARY of a short-file-id transparent file, 00 B0 (80 | SFI) offset (ISO 7816-4, 11.2.3). */
export function readBinary(sfi: number, offset = 0, le = 256): CommandApdu {
  assert.ok(Number.isInteger(sfi) && sfi >= 1 && sfi <= 30, 'SFI must be 1–30');
  assert.ok(isByte(offset), 'offset must be a byte');
  return { cla: 0x00, ins: 0xb0, p1: 0x80 | sfi, p2: offset, data: Buffer.alloc(0), le };
}

/** INITIALIZE FOR CAPP PURCHASE, 80 50 03 02 0B … 0F (JR/T 0025.2, composite purchase). */
export function initializeForCappPurchase(data: InitializeData): CommandApdu {
  const le = INITIALIZE_FOR_PURCHASE_RESPONSE.byteLength;
  return { cla: 0x80, ins: 0x50, p1: 0x03, p2: PURSE, data: INITIALIZE_DATA.encode(data), le };
}

/**
 * UPDATE CAPP DATA CACHE, 80 DC record (SFI << 3) (JR/T 0025.2): the composite record to write
 * when the DEBIT that follows succeeds. It is cached, never written on its own.
 */
export function updateCappDataCache(sfi: number, record: number, data: Buffer): CommandApdu {
  assert.ok(Number.isInteger(sfi) && sfi >= 1 && sfi <= 30, 'SFI must be 1–30');
  assert.ok(Number.isInteger(record) && record >= 1 && record <= 254, 'record number must be 1–254');
  return { cla: 0x80, ins: 0xdc, p1: record, p2: sfi << 3, data };
}

/** GET TRANSACTION PROVE response: MAC2 (or the load's nothing, zeros) and TAC of that transaction. */
export const GET_TRANSACTION_PROVE_RESPONSE = fixedLayout('GET TRANSACTION PROVE response', [
  ['mac2', 4, 'bytes'],
  ['tac', 4, 'bytes'],
]);
export type GetTransactionProveResponse = LayoutValue<typeof GET_TRANSACTION_PROVE_RESPONSE>;

/**
 * GET TRANSACTION PROVE, 80 5A 00 type 02 ATC 08 (JR/T 0025.2): after a tear, the MAC2 and TAC
 * of the transaction with that ATC, if the card completed it; 9406 if it did not.
 */
export function getTransactionProve(transactionType: number, atc: number): CommandApdu {
  assert.ok(isByte(transactionType), 'transaction type is a byte');
  assert.ok(Number.isInteger(atc) && atc >= 0 && atc <= 0xffff, 'ATC is 2 bytes');
  const data = Buffer.alloc(2);
  data.writeUInt16BE(atc);
  return { cla: 0x80, ins: 0x5a, p1: 0x00, p2: transactionType, data, le: GET_TRANSACTION_PROVE_RESPONSE.byteLength };
}
