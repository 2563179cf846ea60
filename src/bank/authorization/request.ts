// Reading an ISO 8583 request from the network into the issuer's terms, and building the
// answer. Anything missing or malformed is a FormatError, answered with response code 30.
import { textField, binaryField, type Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { parseAmount, parseOriginalData, POS_CONDITION_CODE, responseMti } from '../../protocols/iso8583/spec.ts';

export class FormatError extends Error {
  override readonly name = 'FormatError';
}

export type RequestKind = 'authorization' | 'purchase' | 'refund' | 'completion' | 'reversal';

export interface IssuerRequest {
  kind: RequestKind;
  mti: string;
  pan: string;
  amountFen: bigint;
  stan: string;
  transmission: string;
  acquirerId: string;
  terminalId: string;
  rrn: string | undefined;
  entryMode: string;
  /** Field 14, as the terminal sent it (a keyed-in card must give the card's). */
  expiryYymm: string | undefined;
  /** Field 48: the CVN2 keyed in with a card number (3 digits). */
  cvn2: string | undefined;
  panSequence: string | undefined;
  pinBlock: Buffer | undefined;
  icc: Buffer | undefined;
  /** Field 60 'TSPV': a token service verified the device card's cryptogram on the issuer's behalf. */
  verifiedByTokenService: boolean;
  /** Refunds and completions: the RRN of the purchase refunded or the authorization completed (field 61, first 12 characters). */
  originalRrn: string | undefined;
  /** Reversals: the message key of the request being reversed (from field 90). */
  originalKey: string | undefined;
}

/** The identity of a request at the issuer: MTI, acquirer, STAN and transmission time, as field 90 names it. */
export function messageKey(mti: string, acquirerId: string, stan: string, transmission: string): string {
  return `${mti}|${acquirerId.padStart(11, '0')}|${stan}|${transmission}`;
}

function required(message: Iso8583Message, field: number, pattern: RegExp): string {
  const value = textField(message, field);
  if (value === undefined || !pattern.test(value)) throw new FormatError(`field ${field} is missing or malformed`);
  return value;
}

export function parseIssuerRequest(message: Iso8583Message): IssuerRequest {
  const processingCode = required(message, 3, /^[0-9]{6}$/);
  let kind: RequestKind;
  if (message.mti === '0400' || message.mti === '0420') kind = 'reversal';
  else if (message.mti === '0100' && (processingCode === '000000' || processingCode === '030000')) kind = 'authorization';
  else if (message.mti === '0200' && processingCode === '000000') kind = textField(message, 25) === POS_CONDITION_CODE.PREAUTH_COMPLETION ? 'completion' : 'purchase';
  else if (message.mti === '0200' && processingCode === '200000') kind = 'refund';
  else throw new UnsupportedError(`MTI ${message.mti} with processing code ${processingCode}`);
  const amountFen = parseAmount(required(message, 4, /^[0-9]{12}$/));
  const originalData = textField(message, 90);
  const f61 = textField(message, 61);
  return {
    kind,
    mti: message.mti,
    pan: required(message, 2, /^[0-9]{13,19}$/),
    amountFen,
    stan: required(message, 11, /^[0-9]{6}$/),
    transmission: required(message, 7, /^[0-9]{10}$/),
    acquirerId: required(message, 32, /^[0-9]{1,11}$/),
    terminalId: required(message, 41, /^.{8}$/),
    rrn: textField(message, 37),
    entryMode: textField(message, 22) ?? '000',
    expiryYymm: textField(message, 14),
    cvn2: textField(message, 48),
    panSequence: textField(message, 23)?.slice(-2),
    pinBlock: binaryField(message, 52),
    icc: binaryField(message, 55),
    verifiedByTokenService: textField(message, 60) === 'TSPV',
    originalRrn: kind === 'refund' || kind === 'completion'
      ? (f61 && /^[0-9A-Za-z]{12}/.test(f61) ? f61.slice(0, 12) : throwFormat('field 61 must start with the original RRN'))
      : undefined,
    originalKey: kind === 'reversal'
      ? (() => {
        if (!originalData || !/^[0-9]{42}$/.test(originalData)) throw new FormatError('field 90 is missing or malformed');
        const o = parseOriginalData(originalData);
        return messageKey(o.mti, o.acquirerId, o.stan, o.transmissionDateTime);
      })()
      : undefined,
  };
}

export class UnsupportedError extends Error {
  override readonly name = 'UnsupportedError';
}

function throwFormat(message: string): never {
  throw new FormatError(message);
}

const echoedFields = [2, 3, 4, 7, 11, 12, 13, 25, 32, 33, 37, 41, 42, 49, 90];

/** The answer to `request`: the echoed identifying fields, the response code and what the issuer adds. */
export function buildResponse(
  request: Iso8583Message,
  answer: { responseCode: string; authCode?: string | null; reason?: string | null; icc?: Buffer | null },
): Iso8583Message {
  const fields: Record<number, string | Buffer | undefined> = {};
  for (const field of echoedFields) fields[field] = request.fields[field];
  fields[39] = answer.responseCode;
  if (answer.authCode) fields[38] = answer.authCode;
  if (answer.reason) fields[44] = answer.reason.slice(0, 25);
  if (answer.icc && answer.icc.length > 0) fields[55] = answer.icc;
  return { mti: responseMti(request.mti), fields };
}
