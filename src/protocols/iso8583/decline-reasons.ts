/**
 * Field 44 (additional response data): the short reason this system's parties put beside a
 * field 39 code, so a decline can be told apart without reading the party's logs. One catalogue
 * for the issuer (bank), the network switch and the token service; the network README lists
 * every entry (response-codes.test.ts checks it). Code uses the names (`DeclineReason.BAD_ARQC`).
 */
import { ResponseCode, type ResponseCodeValue } from './response-codes.ts';

export interface DeclineReasonEntry {
  /** Which party raises it. */
  raisedBy: 'bank' | 'network' | 'tsp';
  /** The field 39 code it comes with. */
  responseCode: ResponseCodeValue;
  /** When it is raised. */
  raisedWhen: string;
}

const R = ResponseCode;

/** Every field-44 reason with who raises it, its field 39 code and the sentence saying when. */
export const declineReasons = {
  // The issuer (src/bank/authorization).
  FORMAT: { raisedBy: 'bank', responseCode: R.FORMAT_ERROR, raisedWhen: 'a required field is missing or malformed' },
  MAC: {
    raisedBy: 'bank',
    responseCode: R.MAC_FAILURE,
    raisedWhen:
      "the message has no valid MAC (the bank's zone MAC, or a terminal's at the network): nothing is " +
      'looked at or changed',
  },
  AMOUNT: { raisedBy: 'bank', responseCode: R.INVALID_AMOUNT, raisedWhen: 'the amount is zero' },
  CLOSED: { raisedBy: 'bank', responseCode: R.INVALID_CARD_NUMBER, raisedWhen: 'the card account is closed' },
  NO_CARD: { raisedBy: 'bank', responseCode: R.INVALID_CARD_NUMBER, raisedWhen: 'no card account has this PAN' },
  LOST: { raisedBy: 'bank', responseCode: R.LOST_CARD, raisedWhen: 'the card is reported lost' },
  FROZEN: { raisedBy: 'bank', responseCode: R.NOT_PERMITTED, raisedWhen: 'the card is frozen' },
  EXPIRED: {
    raisedBy: 'bank',
    responseCode: R.EXPIRED_CARD,
    raisedWhen: "the date is past the last day of the card's expiry month",
  },
  NO_CVN2: {
    raisedBy: 'bank',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'a keyed-in card number comes without its CVN2',
  },
  EXPIRY: {
    raisedBy: 'bank',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: "a keyed-in card number comes with another expiry than the card's",
  },
  CVN2: {
    raisedBy: 'bank',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'a keyed-in card number comes with a wrong CVN2',
  },
  ENTRY_MODE: {
    raisedBy: 'bank',
    responseCode: R.INVALID_TRANSACTION,
    raisedWhen: 'the entry mode is not chip, contactless or keyed in (no magnetic stripe, no fallback)',
  },
  ICC_FORMAT: {
    raisedBy: 'bank',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'field 55 is unreadable or lacks a required tag (the TSP raises it too, for a device card)',
  },
  BAD_ARQC: {
    raisedBy: 'bank',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: "the ARQC does not verify under the card's session key (the TSP raises it too, under LUK(ATC))",
  },
  DATA_MISMATCH: {
    raisedBy: 'bank',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'the chip data (9F02 amount, CVN) disagrees with the message (the TSP raises it too)',
  },
  ATC: {
    raisedBy: 'bank',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'the ATC is not above the last one seen or jumps past the forward window',
  },
  NO_ICC: {
    raisedBy: 'bank',
    responseCode: R.FORMAT_ERROR,
    raisedWhen: 'a chip or contactless read comes without field 55 (the TSP raises it too)',
  },
  PIN: { raisedBy: 'bank', responseCode: R.INCORRECT_PIN, raisedWhen: 'the PIN block decrypts to another PIN' },
  PIN_TRIES: {
    raisedBy: 'bank',
    responseCode: R.PIN_TRIES_EXCEEDED,
    raisedWhen: '3 wrong PINs in a row; stays until the PIN is reset',
  },
  FUNDS: {
    raisedBy: 'bank',
    responseCode: R.INSUFFICIENT_FUNDS,
    raisedWhen:
      'balance + credit limit − holds is below the amount (or, for a completion, below the part above the ' + 'hold)',
  },
  REVERSED: { raisedBy: 'bank', responseCode: R.DO_NOT_HONOUR, raisedWhen: 'an original arrives after its reversal' },
  NO_ORIGINAL: {
    raisedBy: 'bank',
    responseCode: R.ORIGINAL_NOT_FOUND,
    raisedWhen:
      'a refund names an RRN never approved for this card (the network raises it too, for an original not ' +
      'of this terminal)',
  },
  OVER_REFUND: {
    raisedBy: 'bank',
    responseCode: R.INVALID_AMOUNT,
    raisedWhen: 'a refund is above what is left to refund of its original',
  },
  NO_AUTHORIZATION: {
    raisedBy: 'bank',
    responseCode: R.ORIGINAL_NOT_FOUND,
    raisedWhen:
      "a completion names no open authorization (reversed, completed already, another card's); the network" +
      ' raises it too',
  },
  OVER_AUTHORIZATION: {
    raisedBy: 'bank',
    responseCode: R.INVALID_AMOUNT,
    raisedWhen: 'a completion is above 115% of its authorization',
  },
  NOTHING_TO_REVERSE: {
    raisedBy: 'bank',
    responseCode: R.APPROVED,
    raisedWhen:
      "a reversal finds its original declined, reversed already or another card's: acknowledged, nothing " + 'changes',
  },
  ALREADY_COMPLETED: {
    raisedBy: 'bank',
    responseCode: R.APPROVED,
    raisedWhen: 'a reversal names an authorization already completed: acknowledged, the hold is not released twice',
  },
  // The network switch (src/network).
  SIGN_ON: {
    raisedBy: 'network',
    responseCode: R.MAC_FAILURE,
    raisedWhen: 'a terminal sends a message before signing on (no working keys)',
  },
  KEYS_EXPIRED: {
    raisedBy: 'network',
    responseCode: R.MAC_FAILURE,
    raisedWhen: "the terminal's working keys are older than their lifetime (24 h by default)",
  },
  STALE: {
    raisedBy: 'network',
    responseCode: R.MAC_FAILURE,
    raisedWhen: "a sign-on's transmission time (field 7) is outside the window",
  },
  STAN: {
    raisedBy: 'network',
    responseCode: R.MAC_FAILURE,
    raisedWhen: "a sign-on's STAN (field 11) is missing, malformed or 000000",
  },
  REPLAY: {
    raisedBy: 'network',
    responseCode: R.MAC_FAILURE,
    raisedWhen: 'a sign-on repeats one the network has already answered (a replay)',
  },
  NO_ROUTE: {
    raisedBy: 'network',
    responseCode: R.NO_SUCH_ISSUER,
    raisedWhen: "no issuer is routed for the card's BIN",
  },
  PIN_BLOCK: {
    raisedBy: 'network',
    responseCode: R.INCORRECT_PIN,
    raisedWhen: "the PIN block cannot be translated from the terminal's PIN key to the issuer's zone PIN key",
  },
  ISSUER_TIMEOUT: {
    raisedBy: 'network',
    responseCode: R.ISSUER_INOPERATIVE,
    raisedWhen:
      'the issuer did not answer in time (or answered without a valid zone MAC); the network reverses the ' + 'request',
  },
  NO_TSP: {
    raisedBy: 'network',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'a device card (token BIN) arrives at a network started without a token service',
  },
  // The token service (today src/platform/tokens/authorization.ts; src/network/tsp after branch i11-tsp).
  TOKEN_UNKNOWN: { raisedBy: 'tsp', responseCode: R.INVALID_CARD_NUMBER, raisedWhen: 'no device card has this number' },
  TOKEN_DELETED: {
    raisedBy: 'tsp',
    responseCode: R.INVALID_CARD_NUMBER,
    raisedWhen: 'the device card was deleted (by the user, logout, find-device off, the bank)',
  },
  DEVICE_LOST: {
    raisedBy: 'tsp',
    responseCode: R.LOST_CARD,
    raisedWhen: 'its phone was disabled as lost from the user center',
  },
  CARD_LOST: {
    raisedBy: 'tsp',
    responseCode: R.LOST_CARD,
    raisedWhen: 'the bank reported the card lost and suspended its device cards (purchases only)',
  },
  TOKEN_SUSPENDED: {
    raisedBy: 'tsp',
    responseCode: R.NOT_PERMITTED,
    raisedWhen:
      'the device card is suspended for another reason (the user, card replaced or closed); refunds still ' + 'go on',
  },
  TOKEN_INACTIVE: { raisedBy: 'tsp', responseCode: R.NOT_PERMITTED, raisedWhen: 'provisioning never finished (ID&V)' },
  TOKEN_DOMAIN: {
    raisedBy: 'tsp',
    responseCode: R.NOT_PERMITTED,
    raisedWhen: 'the entry mode (22) is not contactless chip: device cards pay at contactless POS only',
  },
  TOKEN_EXPIRED: {
    raisedBy: 'tsp',
    responseCode: R.EXPIRED_CARD,
    raisedWhen: "the date is past the token's expiry month",
  },
  EXPIRY_MISMATCH: { raisedBy: 'tsp', responseCode: R.DO_NOT_HONOUR, raisedWhen: "field 14 is not the token's expiry" },
  TXN_TYPE: {
    raisedBy: 'tsp',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: "9C is not the processing code's transaction type (a purchase's cryptogram sent as a refund)",
  },
  ATC_NOT_IN_BATCH: {
    raisedBy: 'tsp',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'no limited-use key batch of the card covers the ATC (never issued)',
  },
  LUK_RETIRED: { raisedBy: 'tsp', responseCode: R.DO_NOT_HONOUR, raisedWhen: 'the batch covering the ATC was retired' },
  LUK_EXPIRED: { raisedBy: 'tsp', responseCode: R.DO_NOT_HONOUR, raisedWhen: 'the batch covering the ATC has expired' },
  ATC_REPLAYED: {
    raisedBy: 'tsp',
    responseCode: R.DO_NOT_HONOUR,
    raisedWhen: 'this ATC of this card was already used (a replayed cryptogram)',
  },
} as const satisfies Record<string, DeclineReasonEntry>;

export type DeclineReasonName = keyof typeof declineReasons;

/** The reasons by name, for code: `DeclineReason.BAD_ARQC` is `'BAD_ARQC'`. */
export const DeclineReason = Object.fromEntries(Object.keys(declineReasons).map((name) => [name, name])) as {
  readonly [Name in DeclineReasonName]: Name;
};
