/**
 * Field 39 response codes (ISO 8583:1987 annex, as CUPS uses them): the one catalogue of the
 * codes this system's issuers, network, token service and terminals answer or print. Code uses
 * the names (`ResponseCode.DO_NOT_HONOUR`), never the bare two characters; the network README
 * lists every entry (response-codes.test.ts checks it). Which party answers which code, and why,
 * is in the field-44 reasons (./decline-reasons.ts), each with its "raised when" sentence.
 */
export const ResponseCode = {
  APPROVED: '00',
  INVALID_MERCHANT: '03',
  DO_NOT_HONOUR: '05',
  INVALID_TRANSACTION: '12',
  INVALID_AMOUNT: '13',
  INVALID_CARD_NUMBER: '14',
  NO_SUCH_ISSUER: '15',
  ORIGINAL_NOT_FOUND: '25',
  FORMAT_ERROR: '30',
  LOST_CARD: '41',
  STOLEN_CARD: '43',
  INSUFFICIENT_FUNDS: '51',
  EXPIRED_CARD: '54',
  INCORRECT_PIN: '55',
  NOT_PERMITTED: '57',
  EXCEEDS_AMOUNT_LIMIT: '61',
  EXCEEDS_FREQUENCY_LIMIT: '65',
  PIN_TRIES_EXCEEDED: '75',
  ISSUER_INOPERATIVE: '91',
  DUPLICATE_TRANSMISSION: '94',
  SYSTEM_MALFUNCTION: '96',
  /** Not on the wire: what a POS prints when no answer came and it reversed the request. */
  NO_ANSWER_REVERSED: '98',
  MAC_FAILURE: 'A0',
} as const;

export type ResponseCodeName = keyof typeof ResponseCode;
export type ResponseCodeValue = (typeof ResponseCode)[ResponseCodeName];

/** What each code means, as a receipt prints it. */
export const responseCodeMeanings: Readonly<Record<ResponseCodeName, string>> = {
  APPROVED: 'approved',
  INVALID_MERCHANT: 'invalid merchant',
  DO_NOT_HONOUR: 'do not honour',
  INVALID_TRANSACTION: 'invalid transaction',
  INVALID_AMOUNT: 'invalid amount',
  INVALID_CARD_NUMBER: 'invalid card number',
  NO_SUCH_ISSUER: 'no such issuer',
  ORIGINAL_NOT_FOUND: 'unable to locate original transaction',
  FORMAT_ERROR: 'format error',
  LOST_CARD: 'lost card, pick up',
  STOLEN_CARD: 'stolen card, pick up',
  INSUFFICIENT_FUNDS: 'insufficient funds',
  EXPIRED_CARD: 'expired card',
  INCORRECT_PIN: 'incorrect PIN',
  NOT_PERMITTED: 'transaction not permitted to cardholder',
  EXCEEDS_AMOUNT_LIMIT: 'exceeds amount limit',
  EXCEEDS_FREQUENCY_LIMIT: 'exceeds frequency limit',
  PIN_TRIES_EXCEEDED: 'allowable PIN tries exceeded',
  ISSUER_INOPERATIVE: 'issuer or switch inoperative',
  DUPLICATE_TRANSMISSION: 'duplicate transmission',
  SYSTEM_MALFUNCTION: 'system malfunction',
  NO_ANSWER_REVERSED: 'no answer; reversed',
  MAC_FAILURE: 'MAC verification failed',
};

/** Every entry as (code, name, meaning), in code order. */
export const responseCodes: readonly { code: ResponseCodeValue; name: ResponseCodeName; meaning: string }[] = (
  Object.keys(ResponseCode) as ResponseCodeName[]
).map((name) => ({ code: ResponseCode[name], name, meaning: responseCodeMeanings[name] }));

/** The meaning of a field 39 value, or undefined for a code outside the catalogue. */
export function responseCodeMeaning(code: string): string | undefined {
  return responseCodes.find((entry) => entry.code === code)?.meaning;
}
