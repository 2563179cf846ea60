// The transaction data an application cryptogram is computed over.
//
// EMV Book 2 8.1.1 (Table 26) recommends a minimum set of data elements, in this order; the
// card's CDOL1 asks the terminal for the terminal-side ones and the card appends its own
// (AIP, ATC, and issuer-chosen Issuer Application Data such as the CVR). Both the phone's
// applet and the issuer must build the bytes identically, so they share this one function.

import { CryptoInputError, assertLength } from './errors.ts';

/** Values are the raw tag values (not TLV-encoded), already in their EMV formats. */
export interface RecommendedCryptogramData {
  /** 9F02 Amount, Authorised — n12, 6 bytes BCD. */
  amountAuthorised: Buffer;
  /** 9F03 Amount, Other — n12, 6 bytes BCD. */
  amountOther: Buffer;
  /** 9F1A Terminal Country Code — n3, 2 bytes (China: '0156'). */
  terminalCountryCode: Buffer;
  /** 95 Terminal Verification Results — 5 bytes. */
  terminalVerificationResults: Buffer;
  /** 5F2A Transaction Currency Code — n3, 2 bytes (CNY: '0156'). */
  transactionCurrencyCode: Buffer;
  /** 9A Transaction Date — n6 YYMMDD, 3 bytes. */
  transactionDate: Buffer;
  /** 9C Transaction Type — n2, 1 byte. */
  transactionType: Buffer;
  /** 9F37 Unpredictable Number — 4 bytes. */
  unpredictableNumber: Buffer;
  /** 82 Application Interchange Profile — 2 bytes. */
  applicationInterchangeProfile: Buffer;
  /** 9F36 Application Transaction Counter — 2 bytes. */
  applicationTransactionCounter: Buffer;
  /** The issuer-chosen part of 9F10 Issuer Application Data the cryptogram covers (e.g. the CVR). */
  issuerApplicationDataPart?: Buffer;
}

/** 9F10 Issuer Application Data is at most 32 bytes (EMV Book 3, Annex A). */
export const ISSUER_APPLICATION_DATA_BYTES_MAX = 32;

const FIELDS: readonly (readonly [keyof RecommendedCryptogramData, number])[] = [
  ['amountAuthorised', 6],
  ['amountOther', 6],
  ['terminalCountryCode', 2],
  ['terminalVerificationResults', 5],
  ['transactionCurrencyCode', 2],
  ['transactionDate', 3],
  ['transactionType', 1],
  ['unpredictableNumber', 4],
  ['applicationInterchangeProfile', 2],
  ['applicationTransactionCounter', 2],
];

/**
 * Concatenates the EMV Book 2 8.1.1 recommended minimum data set in its order —
 * 9F02 || 9F03 || 9F1A || 95 || 5F2A || 9A || 9C || 9F37 || 82 || 9F36 — followed by the
 * Issuer Application Data part (CVR) when given. Each length is checked; a wrong length is a
 * CryptoInputError naming the field. Without the IAD part the result is 33 bytes.
 */
export function buildRecommendedCryptogramData(data: RecommendedCryptogramData): Buffer {
  const parts: Buffer[] = [];
  for (const [name, lengthBytes] of FIELDS) {
    const value = data[name];
    if (value === undefined) throw new CryptoInputError('data_length', `${name} is required`, name);
    assertLength(value, lengthBytes, name);
    parts.push(value);
  }
  const iad = data.issuerApplicationDataPart;
  if (iad !== undefined) {
    if (!Buffer.isBuffer(iad) || iad.length > ISSUER_APPLICATION_DATA_BYTES_MAX) {
      throw new CryptoInputError(
        'data_length',
        `issuerApplicationDataPart must be at most ${ISSUER_APPLICATION_DATA_BYTES_MAX} bytes`,
        'issuerApplicationDataPart',
      );
    }
    parts.push(iad);
  }
  return Buffer.concat(parts);
}
