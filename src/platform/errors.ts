import { commonErrorSpecs, defineErrors, type ErrorSpec } from '../infra/http/errors.ts';

/**
 * The platform API's error catalogue. Codes are stable: clients branch on them. Every entry says
 * when it is raised; README's "Errors" section is generated from this list's shape.
 */
export const platformErrorSpecs = {
  ...commonErrorSpecs,
  idempotency_key_reused: { status: 422, type: 'idempotency_error', raisedWhen: 'an Idempotency-Key is sent again with a different request' },
  idempotency_request_in_progress: { status: 409, type: 'idempotency_error', raisedWhen: 'a request with the same Idempotency-Key is still being processed' },
  // accounts
  phone_already_registered: { status: 409, type: 'invalid_request_error', raisedWhen: 'signing up, or asking a sign-up code, for a phone number that already has a Mi account' },
  phone_not_account_phone: { status: 422, type: 'invalid_request_error', raisedWhen: 'asking a code for an account operation to a phone that is not the account\'s own' },
  password_too_weak: { status: 400, type: 'invalid_request_error', raisedWhen: 'a login password is shorter than 8 characters or lacks a letter or a digit' },
  login_failed: { status: 401, type: 'authentication_error', raisedWhen: 'the phone number or the password is wrong (which one is not said)' },
  login_locked: { status: 423, type: 'authentication_error', raisedWhen: 'too many wrong passwords locked logging in for a while; `locked_until` says until when' },
  sms_code_not_requested: { status: 422, type: 'verification_error', raisedWhen: 'no code was sent to this phone for this purpose' },
  sms_code_wrong: { status: 422, type: 'verification_error', raisedWhen: 'the SMS code is wrong; `tries_left` says how many tries remain before it is burned' },
  sms_code_expired: { status: 422, type: 'verification_error', raisedWhen: 'the SMS code is older than 5 minutes' },
  sms_code_used: { status: 422, type: 'verification_error', raisedWhen: 'the SMS code was already used; codes are single-use' },
  sms_code_burned: { status: 422, type: 'verification_error', raisedWhen: 'five wrong tries burned the code; ask for a new one' },
  // payment account
  payment_account_exists: { status: 409, type: 'invalid_request_error', raisedWhen: 'this Mi account already has a payment account' },
  payment_account_not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'this Mi account has not opened a payment account' },
  identity_already_registered: { status: 409, type: 'invalid_request_error', raisedWhen: 'another Mi account already opened a payment account with this ID number' },
  identity_mismatch: { status: 422, type: 'verification_error', raisedWhen: 'the ID number given does not match the payment account holder\'s' },
  id_number_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'the resident ID number fails GB 11643: format, province, birth date or check character' },
  applicant_under_18: { status: 403, type: 'permission_error', raisedWhen: 'the ID number shows the applicant is under 18; nothing about the applicant is kept' },
  card_number_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'the card number is not 13–19 digits or fails the Luhn check' },
  card_bin_unknown: { status: 422, type: 'card_error', raisedWhen: 'no supported bank issues cards with this BIN' },
  card_not_found: { status: 422, type: 'card_error', raisedWhen: 'the issuing bank has no card with this number' },
  card_not_active: { status: 422, type: 'card_error', raisedWhen: 'the bank reports the card lost, frozen or closed' },
  card_expired: { status: 422, type: 'card_error', raisedWhen: 'the card is past its expiry month' },
  holder_name_mismatch: { status: 422, type: 'verification_error', raisedWhen: 'the bank says the name is not the card holder\'s' },
  id_number_mismatch: { status: 422, type: 'verification_error', raisedWhen: 'the bank says the ID number is not the card holder\'s' },
  reserved_phone_mismatch: { status: 422, type: 'verification_error', raisedWhen: 'the bank says the phone is not the one reserved for the card' },
  verification_not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'no card verification with this id was started by this account' },
  channel_already_verified: { status: 409, type: 'invalid_request_error', raisedWhen: 'a card of this bank already counts as a verification channel of the account' },
  payment_password_too_weak: { status: 400, type: 'invalid_request_error', raisedWhen: 'the payment password is not 6 digits, or is one repeated digit or a run like 123456' },
  payment_password_wrong: { status: 422, type: 'verification_error', raisedWhen: 'the payment password is wrong; `tries_left` says how many tries remain before a 3-hour lock' },
  payment_password_locked: { status: 423, type: 'verification_error', raisedWhen: 'five wrong payment passwords locked payment for 3 hours; `locked_until` says until when' },
  // cards
  card_already_bound: { status: 409, type: 'invalid_request_error', raisedWhen: 'binding a card this account already has bound' },
  bound_cards_limit: { status: 422, type: 'invalid_request_error', raisedWhen: 'the account already has 20 bound cards' },
  // merchants and orders
  order_conflict: { status: 409, type: 'invalid_request_error', raisedWhen: 'a merchant reuses an out_trade_no with another amount or description' },
  order_not_payable: { status: 409, type: 'invalid_request_error', raisedWhen: 'the order is already paid, refunded or expired' },
  // payments
  insufficient_balance: { status: 402, type: 'invalid_request_error', raisedWhen: 'the balance does not cover the payment or withdrawal' },
  card_declined: { status: 402, type: 'card_error', raisedWhen: 'the bank declined the card movement; `decline_code` says why' },
  limit_exceeded: { status: 403, type: 'permission_error', raisedWhen: 'the payment would pass a class or daily limit; `limit`, `limit_fen` and `remaining_fen` say which' },
  payee_not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'no Mi account with a payment account has this phone number' },
  payee_is_payer: { status: 422, type: 'invalid_request_error', raisedWhen: 'a transfer to one\'s own payment account' },
  refund_exceeds_payment: { status: 422, type: 'invalid_request_error', raisedWhen: 'refunds would total more than the order was paid' },
  merchant_balance_insufficient: { status: 402, type: 'invalid_request_error', raisedWhen: 'the merchant\'s balance does not cover the refund' },
  bank_unavailable: { status: 503, type: 'api_error', raisedWhen: 'the issuing bank did not answer; nothing was changed' },
} as const satisfies Record<string, ErrorSpec>;

export const errors = defineErrors(platformErrorSpecs);
