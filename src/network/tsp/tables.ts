/**
 * The TSP's schema (`tsp`): everything that can lead from a device card to a card number, and
 * nothing of the wallet's users, devices or accounts. The wallet server (the platform) knows a
 * token only by its `token_ref_id`; the TSP knows the wallet's card only by `wallet_card_id`, the
 * opaque id the wallet gave it (bound into the sealed key batches the phone opens).
 */
export interface TspTables {
  tokens: {
    token_ref_id: string;
    wallet_card_id: string;
    bank_code: string;
    token_number: string;
    token_last4: string;
    pan_last4: string;
    token_expiry_yymm: string;
    token_sequence: string;
    cryptogram_algorithm: 'tdes' | 'aes' | 'sm4';
    status: 'active' | 'suspended' | 'deleted';
    status_reason: string;
    next_atc: number;
    created_at: Date;
    updated_at: Date;
  };
  /** token → PAN, sealed (vault.ts); `pan_fingerprint` is an HMAC to find a PAN's tokens. */
  token_vault: {
    token_ref_id: string; kek_id: string; wrapped_data_key: string; pan_ciphertext: string; pan_fingerprint: string; created_at: Date;
  };
  luk_batches: {
    id: string; token_ref_id: string; atc_first: number; key_count: number; expires_at: Date; status: 'live' | 'superseded'; created_at: Date;
  };
  /** The ATC replay table: every ATC an authorization used. */
  token_atc_uses: { token_ref_id: string; atc: number; terminal_id: string; used_at: Date };
  /** Lifecycle changes, with why and who asked (the bank, the wallet). */
  token_events: {
    id: string; token_ref_id: string; from_status: string | null; to_status: string; reason: string; actor: string; created_at: Date;
  };
  /** Notices to the wallet server not yet delivered (status changes, transactions), retried in order. */
  wallet_notices: { seq: bigint; kind: 'status' | 'transaction'; body: string; attempts: number; next_at: Date; created_at: Date };
}
