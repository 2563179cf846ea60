import type { Generated } from 'kysely';
import type { RiskTables } from './risk/tables.ts';

/** Row types of the platform's tables (schema `platform`), as the migrations create them. */
export interface PlatformTables extends RiskTables {
  users: {
    id: string; phone: string; password_hash: string; nickname: string; avatar_url: string | null;
    status: 'active' | 'closed'; login_failed_count: number; login_locked_until: Date | null; created_at: Date;
    /** The public Mi account number (小米账号): 10 digits, random, unique. */
    mi_number: string;
  };
  sessions: {
    id: string; user_id: string; token_hash: string; user_agent: string | null; ip: string | null;
    created_at: Date; last_seen_at: Date; expires_at: Date; revoked_at: Date | null;
  };
  sms_codes: {
    id: string; phone: string; purpose: string; code_hash: string; expires_at: Date; wrong_tries: number;
    consumed_at: Date | null; created_at: Date;
  };
  payment_accounts: {
    id: string; user_id: string; holder_name: string;
    /** Legacy clear-text column, emptied at start (personal-data.ts); never read otherwise. */
    id_number: string | null;
    /** Sealed (personal-data.ts); the fingerprint finds an account by ID number, the mask is for display. */
    id_number_sealed: string; id_number_fingerprint: string; id_number_masked: string;
    birth_date: string | Date;
    status: 'active' | 'frozen' | 'closed'; password_hash: string; password_failed_count: number;
    password_locked_until: Date | null; opened_at: Date;
    /** Failed payment-password resets (ID number and code checked together) and the lock they cause. */
    reset_failed_count: number; reset_locked_until: Date | null;
    aml_gender: string | null; aml_occupation: string | null; aml_nationality: string | null; aml_id_type: string | null;
    aml_id_expiry: string | null; aml_id_photo_type: string | null; aml_completed_at: Date | null;
    aml_id_photo_sealed: string | null; aml_address_sealed: string | null;
    /** Legacy clear-text columns, emptied at start. */
    aml_id_photo: Buffer | Uint8Array | null; aml_address: string | null;
  };
  payment_account_channels: {
    id: string; account_id: string; channel: string; bank_code: string; bank_name: string; card_kind: string;
    card_last4: string; agreement_id: string; verified_at: Date;
  };
  bound_cards: {
    id: string; user_id: string; account_id: string; bank_code: string; bank_name: string; card_kind: 'debit' | 'credit';
    brand: string; last4: string; masked_number: string; card_ref: string; agreement_id: string; status: 'active' | 'unbound';
    bound_at: Date; unbound_at: Date | null;
  };
  idempotency_keys: {
    user_id: string; key: string; request_hash: string; status: 'in_progress' | 'completed'; response_status: number | null;
    response_body: string | null; created_at: Date; locked_until: Date; expires_at: Date;
  };
  ledger_accounts: {
    id: string; kind: 'user_wallet' | 'bank_settlement' | 'fee' | 'merchant' | 'float' | 'test';
    debits_must_not_exceed_credits: boolean; credits_must_not_exceed_debits: boolean; code: number; user_data: string | null;
    debits_pending: Generated<bigint>; debits_posted: Generated<bigint>; credits_pending: Generated<bigint>;
    credits_posted: Generated<bigint>; created_at: Generated<Date>;
  };
  ledger_transfers: {
    id: string; seq: Generated<bigint>; debit_account_id: string; credit_account_id: string; amount: bigint;
    kind: 'posted' | 'pending' | 'post_pending' | 'void_pending'; pending_id: string | null; timeout_seconds: number;
    expires_at: Date | null; code: number; user_data: string | null; created_at: Generated<Date>;
  };
  merchants: {
    id: string; name: string; code: string; mcc: string; api_key_hash: string; api_key_last4: string; webhook_url: string | null;
    webhook_secret: string; created_at: Date;
    /** The Mi account that onboarded the merchant; null for sandbox test merchants. */
    owner_user_id: string | null;
  };
  /** One row: the serial of the next merchant code (merchants/merchant-code.ts). */
  merchant_code_counter: { id: number; next_serial: bigint };
  orders: {
    id: string; merchant_id: string; out_trade_no: string; amount_fen: bigint; refunded_fen: bigint; description: string;
    status: 'open' | 'paid' | 'refunded' | 'expired'; payer_user_id: string | null; transaction_id: string | null;
    expires_at: Date; paid_at: Date | null; created_at: Date;
  };
  webhook_events: {
    id: string; merchant_id: string; type: string; payload: string; status: 'pending' | 'delivered' | 'failed'; attempts: number;
    next_attempt_at: Date; last_response_status: number | null; last_error: string | null; created_at: Date; delivered_at: Date | null;
  };
  transactions: {
    id: string; type: 'top_up' | 'withdrawal' | 'transfer' | 'payment' | 'refund'; status: 'pending' | 'succeeded' | 'failed';
    amount_fen: bigint; currency: string; channel: 'balance' | 'quick_pay'; interface_type: string;
    payer_user_id: string | null; payer_name: string; payer_account: string; payee_user_id: string | null; payee_name: string; payee_account: string;
    merchant_id: string | null; merchant_name: string | null; merchant_code: string | null; mcc: string | null; order_id: string | null;
    refund_of: string | null; card_id: string | null; authorization_method: string; authorization_reference: string | null;
    counts_toward_limits: boolean; verification_factors: number; purpose: string | null; reason: string | null; failure_code: string | null;
    trace_id: string; created_at: Date; completed_at: Date | null;
  };
  limit_usage: { account_id: string; bucket: string; used_fen: bigint };
  devices: {
    id: string; user_id: string; hardware_id: string; model: string; os_version: string; nfc: boolean; secure_element: boolean;
    fingerprint_enrolled: boolean; find_device_on: boolean; public_key: string; status: 'active' | 'disabled' | 'deleted';
    registered_at: Date; disabled_at: Date | null; deleted_at: Date | null;
    /** Set while fingerprint payment is turned on for this device. */
    fingerprint_payment_enabled_at: Date | null;
    /** The phone's own session: ending it deletes this phone's bank device cards (null when none is live). */
    session_id?: string | null;
  };
  device_challenges: {
    nonce: string; device_id: string; expires_at: Date; used_at: Date | null; created_at: Date;
    /** Set when the signed statement verified; a verified, unspent challenge is a fingerprint proof. */
    verified_at: Date | null; spent_at: Date | null; spent_for: string | null;
    /** Set when a payment statement used the challenge: what it was bound to. */
    payment_binding: string | null;
  };
  /** Nonces of device-signed requests, kept while their timestamp is acceptable: a signed request is single-use. */
  device_request_nonces: { device_id: string; nonce: string; expires_at: Date };
  device_cards: {
    id: string; user_id: string; device_id: string; bound_card_id: string; kind: 'bank' | 'transit'; bank_code: string; bank_name: string;
    card_kind: string; card_ref: string; pan_masked: string; pan_last4: string; token_last4: string;
    /** The TSP's token reference id (src/network/tsp); the token number and its card number are the TSP's alone. */
    token_ref_id: string; token_masked: string;
    status: 'inactive' | 'active' | 'suspended' | 'deleted'; status_reason: string; created_at: Date; updated_at: Date;
  };
  /** Lifecycle changes for the TSP, sent after the commit, in order (tokens/tsp-commands.ts). */
  device_card_tsp_commands: {
    seq: bigint; token_ref_id: string; status: 'active' | 'suspended' | 'deleted'; reason: string; retire_keys: boolean;
    attempts: number; next_at: Date; created_at: Date;
  };
  device_card_events: { id: string; device_card_id: string; from_status: string | null; to_status: string; reason: string; actor: string; created_at: Date };
  transit_cards: {
    id: string; user_id: string; device_id: string; brand_code: string; brand_kind: 'city' | 'tunion'; card_number: string | null;
    status: 'issuing' | 'active' | 'failed' | 'moved' | 'returned'; issue_order_id: string | null; auto_top_up_below_fen: bigint | null;
    auto_top_up_amount_fen: bigint | null; low_balance_alert_fen: bigint | null; created_at: Date;
    /** The moved card this one carries the balance of. */
    moved_from: string | null; closed_at: Date | null;
    /** What the card proved when it was closed (null: closed without the phone). */
    proven_balance_fen: bigint | null;
    /** A returned card: when the operator's books are final, what is refunded (balance + deposit), and when it was. */
    final_after: Date | null; refund_target_fen: bigint | null; refunded_at: Date | null;
  };
  transit_loads: {
    /** `order_id` null: a moved card's carried balance (`carried_from_card_id`), paid for long ago. */
    id: string; card_id: string; user_id: string; amount_fen: bigint; order_id: string | null; status: 'paid' | 'signed' | 'loaded' | 'refunded';
    online_seq: number | null; created_at: Date; loaded_at: Date | null; carried_from_card_id: string | null;
  };
  transit_operator_merchants: { brand_code: string; merchant_id: string };
  door_card_backups: {
    id: string; user_id: string; card_ref: string; name: string; uid_masked: string; card_type: 'mifare_classic_1k' | 'mifare_classic_4k';
    created_at: Date; updated_at: Date;
  };
  payee_confirmations: {
    id: string; payer_user_id: string; payee_user_id: string | null; looked_up_by: 'mi_number' | 'phone'; created_at: Date; expires_at: Date;
    used_at: Date | null; used_by_transaction: string | null;
  };
  payment_certificates: {
    id: string; user_id: string; serial_number: string; subject: string; certificate_pem: string; public_key: string; daily_limit_fen: bigint;
    status: 'active' | 'revoked'; not_before: Date; not_after: Date; revoked_at: Date | null; revocation_reason: string | null; created_at: Date;
  };
  /** Device-card transactions the TSP notified (transactions/device-card-notices.ts). */
  device_card_transactions: {
    id: string; user_id: string; device_id: string; device_card_id: string;
    kind: 'purchase' | 'refund' | 'reversal' | 'preauth' | 'completion'; outcome: 'approved' | 'declined';
    response_code: string; decline_reason: string | null; amount_fen: bigint; merchant_id: string; merchant_name: string; mcc: string;
    terminal_id: string; stan: string; rrn: string; original_rrn: string | null; refund_of: string | null;
    token_last4: string; bank_name: string; occurred_at: Date; received_at: Date;
  };
  certificate_challenges: { nonce: string; certificate_id: string; expires_at: Date; used_at: Date | null; created_at: Date };
}
