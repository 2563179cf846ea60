/**
 * Field 39 response codes the sandbox issuers answer with (ISO 8583:1987 annex as CUPS uses
 * them), and the short reason the bank puts in field 44 so a decline can be told apart
 * without reading bank logs. This table is the one place they are documented.
 *
 * | 39 | meaning                          | when the issuer answers it                                     |
 * |----|----------------------------------|----------------------------------------------------------------|
 * | 00 | approved                         | everything checked; hold placed / money moved                  |
 * | 05 | do not honour                    | ARQC wrong (BAD_ARQC), ATC replayed or out of window (ATC),    |
 * |    |                                  | chip data disagrees with the message (DATA_MISMATCH), a late   |
 * |    |                                  | original after its reversal (REVERSED), or a keyed-in card     |
 * |    |                                  | number without its CVN2 (NO_CVN2), with another expiry         |
 * |    |                                  | (EXPIRY) or a wrong CVN2 (CVN2)                                |
 * | 12 | invalid transaction              | MTI / processing code the issuer does not support, or an entry |
 * |    |                                  | mode other than chip, contactless or keyed in (ENTRY_MODE: no  |
 * |    |                                  | magnetic stripe, no fallback)                                  |
 * | 13 | invalid amount                   | zero amount, a refund above what is left to refund, or a       |
 * |    |                                  | completion above 115% of its authorization                     |
 * | 14 | invalid card number              | no card account with this PAN                                  |
 * | 25 | unable to locate original        | refund naming an RRN the issuer never approved for this card,  |
 * |    |                                  | or a completion naming no open authorization (reversed,        |
 * |    |                                  | completed already, another card's)                             |
 * | 30 | format error                     | a required field is missing or malformed                       |
 * | 41 | lost card, pick up               | the card is reported lost                                      |
 * | 51 | insufficient funds               | balance + credit limit − holds below the amount                |
 * | 54 | expired card                     | past the last day of the expiry month                          |
 * | 55 | incorrect PIN                    | PIN block decrypts to another PIN                              |
 * | 57 | not permitted to cardholder      | the card is frozen or closed                                   |
 * | 75 | allowable PIN tries exceeded     | 3 wrong PINs in a row; stays until the PIN is reset            |
 * | 96 | system malfunction               | the issuer failed unexpectedly                                 |
 * | A0 | MAC verification failed          | the message has no valid zone MAC (endpoint.ts): nothing is    |
 * |    |                                  | looked at or changed                                           |
 *
 * The network answers 91 (issuer or switch inoperative) when the bank does not answer in
 * time (or answers without a valid zone MAC), A0 to a terminal message without a valid MAC
 * (field 44 MAC, SIGN_ON, KEYS_EXPIRED), 25 to a refund or reversal naming no original of that
 * terminal, 03 (invalid merchant) for an unregistered terminal, 15 (no such issuer) for a BIN it
 * cannot route, and 30 for a message it cannot read.
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
  INSUFFICIENT_FUNDS: '51',
  EXPIRED_CARD: '54',
  INCORRECT_PIN: '55',
  NOT_PERMITTED: '57',
  PIN_TRIES_EXCEEDED: '75',
  ISSUER_INOPERATIVE: '91',
  SYSTEM_MALFUNCTION: '96',
  MAC_FAILURE: 'A0',
} as const;

export type ResponseCodeValue = (typeof ResponseCode)[keyof typeof ResponseCode];
