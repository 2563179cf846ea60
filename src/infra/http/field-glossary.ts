/**
 * The API's data dictionary: what a field name means wherever it appears, for the fields that
 * mean one thing everywhere (`amount_fen`, `created_at`, `card_id`). The OpenAPI document takes
 * a field's description from its schema (`.describe(…)`) and falls back to this list; a field
 * with neither fails `src/platform/openapi.test.ts`. A name that means different things in
 * different places (`code`, `key`, `token`) does not belong here: describe it at its schema.
 */
export const fieldGlossary: Readonly<Record<string, string>> = {
  // Identity and time
  id: 'This object\'s id: prefixed and time-ordered (`usr_…`, `card_…`, `dev_…`, `dc_…`, `ord_…`, `txn_…`, `evt_…`)',
  created_at: 'When it was created (ISO 8601, UTC)',
  updated_at: 'When it last changed (ISO 8601, UTC)',
  expires_at: 'When it expires (ISO 8601, UTC)',
  completed_at: 'When it was completed, or null while it is not (ISO 8601, UTC)',
  opened_at: 'When the payment account was opened (ISO 8601, UTC)',
  verified_at: 'When the bank verified it (ISO 8601, UTC)',
  bound_at: 'When the card was bound (ISO 8601, UTC)',
  registered_at: 'When the device was registered (ISO 8601, UTC)',
  disabled_at: 'When the device was reported lost, or null (ISO 8601, UTC)',
  paid_at: 'When the order was paid, or null (ISO 8601, UTC)',
  sent_at: 'When the message was sent (ISO 8601, UTC)',
  last_seen_at: 'When the session was last used (ISO 8601, UTC)',
  locked_until: 'Until when the lock holds, or null when there is none (ISO 8601, UTC)',
  status: 'The object\'s state now; the values it takes are listed',
  type: 'What kind of object or event this is; the values it takes are listed',
  data: 'The items of the list',
  has_more: 'Whether there are more items after these: pass the last `id` as `starting_after` to get them',
  limit: 'How many items at most to answer (1–100)',
  starting_after: 'Cursor: the `id` of the last item of the previous page',
  from: 'First day included (YYYY-MM-DD, Beijing time)',
  to: 'Last day included (YYYY-MM-DD, Beijing time); for an SMS, the phone it went to',
  // People and accounts
  phone: 'Mainland China mobile number, 11 digits',
  account_phone: 'The Mi account\'s phone number',
  reserved_phone: 'The phone number the card\'s bank has on file for it (预留手机号)',
  password: 'The Mi account\'s login password',
  nickname: 'The name shown in the app',
  avatar_url: 'An https URL of the avatar picture, or null',
  user: 'The Mi account',
  session: 'The session the token belongs to',
  current: 'Whether this is the session making the request',
  user_agent: 'The User-Agent the session logged in with, or null',
  ip: 'The IP address the session logged in from, or null',
  name: 'A person\'s or organisation\'s name as written (masked where it is a person other than the caller)',
  holder_name: 'The card holder\'s name as the bank has it',
  holder_name_masked: 'The holder\'s name, masked (`*三`)',
  id_number: 'Resident ID number (18 characters, GB 11643)',
  id_number_masked: 'The holder\'s ID number, masked (`1****************X`)',
  gender: 'Gender as on the ID card; must agree with the ID number',
  occupation: 'The holder\'s occupation',
  nationality: 'The holder\'s nationality (ISO 3166-1 alpha-3, e.g. CHN)',
  pan: 'The bank card number (13–19 digits); sent only in a body, never in a URL',
  reference: 'The movement\'s reference at the bank: one movement per reference, or null when there is none',
  id_type: 'The kind of identity document',
  id_expiry: 'The identity document\'s expiry date (YYYY-MM-DD), not in the past',
  id_photo: 'A photo of the identity document',
  content_type: 'The MIME type: image/jpeg or image/png',
  data_base64: 'The file\'s bytes in base64 (at most 2 MiB decoded)',
  address: 'The holder\'s address',
  aml_complete: 'Whether the AML supplementary data is complete (needed for the Class II/III limits)',
  // Verification
  purpose: 'What the code or verification is for; the values it takes are listed',
  sms_code: 'The 6-digit code sent by SMS',
  verification_id: 'The verification started in step 1 (from its answer)',
  phone_masked: 'The phone the code was texted to, masked (`138****8000`)',
  payment_password: 'The 6-digit payment password',
  new_payment_password: 'The new 6-digit payment password (not one digit repeated, not a run like 123456)',
  verified: 'Whether the check passed',
  reset: 'Whether the password was reset',
  tries_left: 'How many tries remain before the lock',
  nonce: 'A single-use challenge from `POST /v1/devices/{id}/challenges`',
  biometric_nonce: 'The nonce of a fingerprint statement this device had verified in the last 5 minutes, not yet spent',
  timestamp: 'When the phone made the statement (ISO 8601, UTC); at most 5 minutes from the platform\'s clock',
  result: 'The biometric result the phone signed: `fingerprint_verified`',
  signature: 'ECDSA P-256 signature (DER, base64) of the statement under the device key',
  // Payment account
  class: 'The account class whose limits apply now (PBOC [2015] No. 43)',
  class_by_channels: 'The class the verification channels reach; II and III apply once the AML data is complete',
  channels: 'The external verification channels: cards verified at distinct banks',
  channel: 'How the money moved: `balance` or `quick_pay` (a bound card)',
  limits: 'The limits that apply and what is used of them',
  balance_payments: 'The class limit on balance payments',
  period: 'The period the limit counts over',
  daily: 'The daily limits by verification strength',
  limit_fen: 'The limit, in fen',
  used_fen: 'What is used of the limit, in fen',
  remaining_fen: 'What is left of the limit, in fen',
  fewer_than_two_factors_fen: 'Daily limit of payments with fewer than two factors, in fen',
  two_factors_fen: 'Daily limit of payments with two factors, in fen',
  certificate_and_two_factors: 'The daily limit with a digital certificate and two factors: by agreement',
  own_card_transfers_count: 'Whether transfers to the holder\'s own card count towards the limits (they do not)',
  // Cards and banks
  card_number: 'The bank card number (13–19 digits, Luhn); never echoed back by the platform',
  card_id: 'A bound card\'s id (`card_…`), from `GET /v1/cards`',
  card_last4: 'The last 4 digits of the card number',
  card_number_last4: 'The last 4 digits of the card number',
  last4: 'The last 4 digits of the card number',
  masked_number: 'The card number masked: first 6 and last 4 digits',
  card_kind: 'debit or credit',
  kind: 'debit or credit',
  brand: 'The card scheme: unionpay, or visa for single-brand VISA cards',
  bank_code: 'The bank\'s code (e.g. CMB, CCB; see GET /v1/banks on the bank server)',
  bank_name: 'The bank\'s name',
  expiry: 'The card\'s expiry month (YYMM)',
  balance_fen: 'The card account\'s balance, in fen',
  credit_limit_fen: 'A credit card\'s credit limit, in fen',
  online_pin_always: 'Whether the card asks for online PIN at every amount',
  pin: 'The card\'s PIN (4–12 digits)',
  requester: 'Who asks: the partner\'s name for itself (one agreement per requester)',
  agreement_id: 'The quick-pay agreement\'s id at the bank',
  revoked: 'Whether the agreement is now ended',
  direction: 'Which way the money moved, relative to the caller or the card; the values are listed',
  decline_code: 'Why the bank declined, when it did',
  // Devices and device cards
  device_id: 'A registered device\'s id (`dev_…`)',
  model: 'The phone model, e.g. Mi 9',
  os_version: 'The MIUI version, e.g. 10.2.3.0 (stable) or 6.8.23 (developer)',
  nfc: 'Whether the phone has NFC',
  secure_element: 'Whether the phone has a secure element',
  fingerprint_enrolled: 'Whether a fingerprint is enrolled on the phone',
  find_device_on: 'Whether find-device is on',
  public_key: 'The phone\'s ECDSA P-256 public key (SPKI DER base64 or PEM)',
  device_card: 'The device card',
  device_cards: 'Device cards',
  token_last4: 'The last 4 digits of the device card number (the token)',
  token_expiry: 'The device card\'s expiry month (YYMM)',
  token_sequence: 'The device card\'s PAN sequence number',
  status_reason: 'Why the status last changed',
  from_status: 'The status before the change',
  to_status: 'The status after the change',
  reason: 'Why, in words',
  actor: 'Who asked for the change (the user, the bank, the platform on a lost device or a logout)',
  count: 'How many limited-use keys to issue (at most 50)',
  atc_first: 'The application transaction counter of the batch\'s first key',
  key_count: 'How many keys the batch holds',
  atc: 'The application transaction counter (ATC)',
  algorithm: 'The cryptogram algorithm the keys are for',
  key_check_value: 'A key check value, to confirm the key arrived intact (never the key)',
  luk_batch: 'The batch of limited-use keys, sent once',
  live_key_batches: 'The key batches of the card that can still pay',
  action: 'What to do with the device cards; the values it takes are listed',
  affected: 'How many device cards changed',
  // Merchants, orders, webhooks
  mcc: 'Merchant category code, 4 digits (ISO 18245)',
  webhook_url: 'Where events are POSTed (an http or https URL), or null',
  url: 'The webhook endpoint, or null to stop deliveries',
  api_key: 'The merchant\'s API key (`sk_…`): shown only once',
  api_key_last4: 'The last 4 characters of the API key',
  webhook_secret: 'The secret that signs webhooks (`Mipay-Signature`): shown only once',
  out_trade_no: 'The merchant\'s own order number; the same one answers the same order',
  description: 'What is bought, as the customer sees it',
  expires_in_s: 'Seconds until an unpaid order expires',
  merchant_id: 'The merchant\'s id (`mch_…`)',
  merchant: 'The merchant, or null',
  merchant_name: 'The merchant\'s name',
  merchant_code: 'The merchant\'s code',
  order: 'The order',
  order_id: 'The order\'s id (`ord_…`), or null',
  transaction: 'The transaction record',
  transaction_id: 'The transaction that paid the order, or null',
  refunded_fen: 'How much of the order is refunded so far, in fen',
  attempts: 'How many delivery attempts were made',
  last_response_status: 'The HTTP status the endpoint last answered, or null',
  payload: 'The event as delivered: a JSON text',
  // Money
  amount_fen: 'Amount in fen (1 yuan = 100 fen)',
  available_fen: 'What can be spent, in fen',
  pending_out_fen: 'What payments not yet settled hold, in fen',
  currency: 'ISO 4217 currency code: CNY',
  interface_type: 'The interface the request came through (`api`: the REST API)',
  payer: 'Who paid: name (masked) and account (masked)',
  payee: 'Who was paid: name (masked) and account (masked)',
  account: 'The account, masked (`招商银行 ****7061`, `Mi Pay balance 138****8000`)',
  refund_of: 'The transaction this one refunds, or null',
  authorization: 'How the transaction was authorised',
  method: 'How the payer was verified (e.g. payment_password)',
  factors: 'How many verification factors were used',
  failure_code: 'Why the transaction failed, or null',
  trace_id: 'The request id that made the transaction (`x-request-id`)',
  note: 'A note for the payee',
  payee_phone: 'The payee\'s Mi account phone number',
  // SMS outbox
  sender: 'The sender\'s signature, e.g. 小米支付 or a bank\'s name',
  text: 'The message text',
};

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
}

interface Operation {
  parameters?: Array<{ name: string; description?: string }>;
  requestBody?: { content?: Record<string, { schema?: SchemaNode }> };
  responses?: Record<string, { content?: Record<string, { schema?: SchemaNode }> }>;
}

/** Gives every undescribed field and parameter of a generated OpenAPI document its glossary description. */
export function describeFields(document: { paths?: Record<string, Record<string, Operation>> }): void {
  const walk = (node: SchemaNode | undefined): void => {
    if (!node || typeof node !== 'object') return;
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (!child.description && fieldGlossary[name]) child.description = fieldGlossary[name];
      walk(child);
    }
    walk(node.items);
    for (const list of [node.anyOf, node.oneOf, node.allOf]) for (const child of list ?? []) walk(child);
  };
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const parameter of operation.parameters ?? []) {
        if (!parameter.description && fieldGlossary[parameter.name]) parameter.description = fieldGlossary[parameter.name];
      }
      for (const media of Object.values(operation.requestBody?.content ?? {})) walk(media.schema);
      for (const response of Object.values(operation.responses ?? {})) {
        for (const media of Object.values(response.content ?? {})) walk(media.schema);
      }
    }
  }
}
