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
  phone_already_registered: { status: 409, type: 'invalid_request_error', raisedWhen: 'signing up with a right sign-up code for a phone that got a Mi account meanwhile (asking a code never says a phone is registered)' },
  phone_not_account_phone: { status: 422, type: 'invalid_request_error', raisedWhen: 'asking a code for an account operation to a phone that is not the account\'s own' },
  password_too_weak: { status: 400, type: 'invalid_request_error', raisedWhen: 'a login password is shorter than 8 characters or lacks a letter or a digit' },
  login_failed: { status: 401, type: 'authentication_error', raisedWhen: 'the phone number or the password is wrong (which one is not said)' },
  password_wrong: { status: 403, type: 'authentication_error', raisedWhen: 'the account password that confirms a sensitive action (re-enabling a found device) is wrong; `tries_left` counts toward the login lock' },
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
  password_reset_failed: { status: 422, type: 'verification_error', raisedWhen: 'a payment-password reset whose ID number or SMS code is wrong (which one is not said); the failure counts toward the reset lock' },
  password_reset_locked: { status: 423, type: 'verification_error', raisedWhen: 'five failed payment-password resets locked resetting for 24 hours; `locked_until` says until when' },
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
  merchants_limit: { status: 422, type: 'invalid_request_error', raisedWhen: 'a Mi account that already onboarded 5 merchants onboards another' },
  webhook_url_forbidden: { status: 422, type: 'invalid_request_error', raisedWhen: 'a webhook URL whose host is, or resolves to, a loopback, private, link-local, CGNAT, metadata or other non-public address' },
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
  // devices
  device_not_eligible: { status: 422, type: 'invalid_request_error', raisedWhen: 'the phone cannot carry device cards: unsupported model, MIUI too old, no NFC or no secure element; `param` names the field' },
  devices_per_user_limit: { status: 422, type: 'invalid_request_error', raisedWhen: 'the account already has 20 registered devices; delete one first' },
  device_already_registered: { status: 409, type: 'invalid_request_error', raisedWhen: 'a phone with this device id is already registered (to this or another account)' },
  device_public_key_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'the device public key is not an ECDSA P-256 key in SPKI DER base64 or PEM' },
  device_not_active: { status: 409, type: 'invalid_request_error', raisedWhen: 'the device was disabled (reported lost) or deleted' },
  device_not_disabled: { status: 409, type: 'invalid_request_error', raisedWhen: 're-enabling a device that was not disabled as lost' },
  device_not_ready: { status: 422, type: 'invalid_request_error', raisedWhen: 'paying needs a fingerprint enrolled and find-device on; `param` names what is missing' },
  biometric_challenge_invalid: { status: 422, type: 'verification_error', raisedWhen: 'the signed statement names an unknown, used or expired challenge nonce' },
  biometric_statement_stale: { status: 422, type: 'verification_error', raisedWhen: 'the signed statement\'s timestamp is more than 5 minutes from the platform\'s clock' },
  biometric_verification_required: { status: 403, type: 'verification_error', raisedWhen: 'adding a card without the nonce of a fingerprint statement verified on this device in the last 5 minutes and not yet spent' },
  biometric_signature_invalid: { status: 422, type: 'verification_error', raisedWhen: 'the statement\'s signature does not verify under the device\'s registered public key' },
  device_signature_required: { status: 401, type: 'authentication_error', raisedWhen: 'a request that mints limited-use keys has no `Mipay-Device-Signature` header, or it is not of the form `t=…,n=…,s=…`' },
  device_signature_invalid: { status: 401, type: 'authentication_error', raisedWhen: 'the device signature does not verify under the key of the device that owns the device card (another device, another path or body), or its timestamp is more than 5 minutes from now' },
  device_signature_replayed: { status: 401, type: 'authentication_error', raisedWhen: 'the device signature\'s nonce was already used: each signed request is single-use' },
  // device cards (tokens)
  card_brand_not_supported: { status: 422, type: 'card_error', raisedWhen: 'the card is not UnionPay-branded (a single-brand VISA card) and cannot become a device card' },
  card_kind_not_supported: { status: 422, type: 'card_error', raisedWhen: 'the bank lets Mi Pay tokenize only its credit cards and this is a debit card' },
  device_card_exists: { status: 409, type: 'invalid_request_error', raisedWhen: 'this card already has a live device card on this device' },
  device_cards_per_device_limit: { status: 422, type: 'invalid_request_error', raisedWhen: 'the device already carries 8 bank device cards' },
  card_devices_limit: { status: 422, type: 'invalid_request_error', raisedWhen: 'this card is already a device card on 10 devices' },
  device_card_transition_invalid: { status: 409, type: 'invalid_request_error', raisedWhen: 'the lifecycle change is not allowed from the device card\'s status (e.g. resuming a deleted card)' },
  // door cards (backups of name and masked UID only)
  door_card_backups_limit: { status: 422, type: 'invalid_request_error', raisedWhen: 'the account already backs up 50 door cards; delete a backup first' },
  bank_unavailable: { status: 503, type: 'api_error', raisedWhen: 'the issuing bank did not answer; nothing was changed' },
  // transit cards
  transit_brand_unknown: { status: 404, type: 'invalid_request_error', raisedWhen: 'no transit operator runs this brand' },
  transit_brand_retired: { status: 422, type: 'invalid_request_error', raisedWhen: 'the brand is retired and no longer issued; `replacement` names what to use instead' },
  transit_tunion_present: { status: 409, type: 'invalid_request_error', raisedWhen: 'the device already carries a T-Union card (at most one per device); the message names its brand' },
  transit_brand_present: { status: 409, type: 'invalid_request_error', raisedWhen: 'the device already carries a card of this brand' },
  transit_card_not_active: { status: 409, type: 'invalid_request_error', raisedWhen: 'the transit card was moved, returned or never issued' },
  transit_top_up_out_of_limits: { status: 422, type: 'invalid_request_error', raisedWhen: 'the top-up is below the brand\'s minimum, above its maximum, or would pass its balance cap' },
  transit_load_state: { status: 409, type: 'invalid_request_error', raisedWhen: 'the top-up is not at the step this request is for (e.g. confirming one never signed)' },
  transit_load_refused: { status: 422, type: 'card_error', raisedWhen: 'the operator refused the card\'s load cryptogram (MAC1 or TAC) or the card is blacklisted' },
  transit_close_proof_invalid: { status: 422, type: 'card_error', raisedWhen: 'the card\'s close proof is missing (a move needs one), covers an old challenge, does not verify, or claims more than the card holds' },
  transit_move_refused: { status: 409, type: 'invalid_request_error', raisedWhen: 'the card was not moved out of a device, or its balance is already on another card' },
  transit_operator_unavailable: { status: 503, type: 'api_error', raisedWhen: 'the transit operator did not answer; a fee already taken was refunded, a paid top-up waits to be signed' },
  // paying as the privacy policy describes (payees, fingerprint, certificates)
  payee_confirmation_invalid: { status: 422, type: 'invalid_request_error', raisedWhen: 'a transfer carries a payee confirmation that is unknown, another payer\'s, already used or older than 5 minutes' },
  fingerprint_payment_off: { status: 403, type: 'verification_error', raisedWhen: 'paying with a fingerprint statement from a device on which fingerprint payment is not turned on' },
  certificate_request_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'the CSR is not a PKCS #10 request with a valid self-signature over an ECDSA P-256 key' },
  payment_certificates_limit: { status: 422, type: 'invalid_request_error', raisedWhen: 'the account already has 5 active payment certificates; revoke one first' },
  payment_certificate_revoked: { status: 403, type: 'verification_error', raisedWhen: 'paying with a revoked payment certificate; `reason` says why it was revoked' },
  payment_certificate_expired: { status: 403, type: 'verification_error', raisedWhen: 'paying with a payment certificate past its `not_after`' },
  payment_challenge_invalid: { status: 422, type: 'verification_error', raisedWhen: 'a certificate-signed payment names an unknown, used or expired challenge nonce' },
  payment_signature_invalid: { status: 422, type: 'verification_error', raisedWhen: 'the certificate\'s signature does not verify over this payment (amount, payee or order, nonce, time)' },
  // privacy and self-service (issue 16)
  policy_acceptance_required: { status: 403, type: 'permission_error', raisedWhen: 'logging in after a major privacy-policy change without `accept_policy_version` naming the version in force; `version` and `text_location` say which' },
  policy_version_not_current: { status: 409, type: 'invalid_request_error', raisedWhen: 'signing up with `accepted_policy_version` other than the version in force; `current_version` says which' },
  permission_revoked: { status: 403, type: 'permission_error', raisedWhen: 'a feature needs a phone permission the phone reported revoked or never granted; `permission` names it' },
  export_limit_reached: { status: 429, type: 'rate_limit_error', raisedWhen: 'asking a second free copy of one\'s data within a month; `next_free_at` says when the next one is free' },
  export_not_ready: { status: 409, type: 'invalid_request_error', raisedWhen: 'downloading a copy of one\'s data whose job has not finished' },
  export_expired: { status: 410, type: 'invalid_request_error', raisedWhen: 'downloading a copy of one\'s data after its link expired (7 days) or after it was downloaded' },
  deregistration_refused: { status: 409, type: 'invalid_request_error', raisedWhen: 'deregistering while the balance is not zero, a payment or refund is pending or a dispute is open; `reasons` lists each' },
  request_not_open: { status: 409, type: 'invalid_request_error', raisedWhen: 'answering a privacy request that was already completed or refused' },
  // staff (/ops/v1): accounts, roles, sessions
  staff_login_failed: { status: 401, type: 'authentication_error', raisedWhen: 'a staff login whose email, password or authenticator (TOTP) code is wrong, or whose code was already used (which one is not said)' },
  staff_login_locked: { status: 423, type: 'authentication_error', raisedWhen: 'five failed staff logins in a row locked that login for an hour; `locked_until` says until when' },
  staff_role_required: { status: 403, type: 'permission_error', raisedWhen: 'the staff member lacks every role the route needs; `roles_required` lists them' },
  staff_password_too_weak: { status: 400, type: 'invalid_request_error', raisedWhen: 'a staff password is shorter than 12 characters or lacks a letter or a digit' },
  staff_email_taken: { status: 409, type: 'invalid_request_error', raisedWhen: 'creating a staff member with an email another staff member has' },
  staff_change_refused: { status: 409, type: 'invalid_request_error', raisedWhen: 'an admin removes their own admin role or disables their own account (another admin must)' },
  // risk control and identity proof (risk/)
  risk_step_up_required: { status: 403, type: 'verification_error', raisedWhen: 'the operation looks unusual for the account: send it again with one more factor on top of the password (`step_up` lists them: an SMS code, a fingerprint statement)' },
  risk_review_required: { status: 403, type: 'permission_error', raisedWhen: 'the operation needs a manual check by the risk team before it can go through; customer service can help' },
  risk_denied: { status: 403, type: 'permission_error', raisedWhen: 'the operation is refused to protect the account; customer service can help' },
  identity_image_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'an identity photo is not a PNG or JPEG, is larger than 4 MB, or its pixel size is out of range; `param` names the photo' },
  identity_case_open: { status: 409, type: 'invalid_request_error', raisedWhen: 'the account already has a case of this kind waiting for review' },
  identity_case_decided: { status: 409, type: 'invalid_request_error', raisedWhen: 'a reviewer decides a case that was already approved or rejected' },
  password_recovery_failed: { status: 422, type: 'verification_error', raisedWhen: 'a login-password recovery whose ID number or SMS code is wrong, or whose phone has no payment account (which is not said)' },
  account_not_frozen: { status: 409, type: 'invalid_request_error', raisedWhen: 'asking to unfreeze a payment account that is not frozen' },
  // the lab (sandbox only: src/cli/lab.ts)
  lab_phone_refused: { status: 422, type: 'invalid_request_error', raisedWhen: 'a lab phone refused the step (no such card, wrong finger, not armed, no keys left) or the platform refused the phone; `message` says why' },
  lab_terminal_refused: { status: 422, type: 'invalid_request_error', raisedWhen: 'a lab terminal could not complete the tap (the card did not answer, a PIN is needed, the amount is refused); `message` says why' },
  // the token service (UnionPay's TSP, src/network/tsp)
  token_service_unavailable: { status: 503, type: 'api_error', raisedWhen: 'UnionPay\'s token service did not answer; no device card was made and no key issued' },
  // customer service and complaints
  ticket_closed: { status: 409, type: 'invalid_request_error', raisedWhen: 'a message, reply, note or reopening on a closed support ticket' },
  identity_check_required: { status: 403, type: 'permission_error', raisedWhen: 'an agent opens a ticket for a caller without a matched identity check of their own from the last 15 minutes' },
  complaint_already_answered: { status: 409, type: 'invalid_request_error', raisedWhen: 'answering a complaint that already has its answer' },
} as const satisfies Record<string, ErrorSpec>;

export const errors = defineErrors(platformErrorSpecs);

// Groups of errors several routes declare together (see src/infra/http/error-contract.ts).
/** The refusals of an SMS code check. */
export const smsCodeErrors = [errors.sms_code_not_requested, errors.sms_code_wrong, errors.sms_code_expired, errors.sms_code_used, errors.sms_code_burned];
/** The refusals of the `Idempotency-Key` check on money-moving POSTs. */
export const idempotencyErrors = [errors.idempotency_key_reused, errors.idempotency_request_in_progress];
/** The issuing bank's refusals of a card check, in the platform's words (bank-refusal.ts). */
export const bankCardErrors = [
  errors.card_bin_unknown, errors.card_not_found, errors.card_not_active, errors.card_expired, errors.holder_name_mismatch,
  errors.id_number_mismatch, errors.reserved_phone_mismatch, errors.rate_limited, errors.bank_unavailable,
];
/** The payment password and second-factor refusals of a money-moving request. */
export const paymentVerificationErrors = [errors.payment_account_not_found, errors.payment_password_wrong, errors.payment_password_locked, ...smsCodeErrors];
