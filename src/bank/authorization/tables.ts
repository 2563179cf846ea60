import type { BankTables } from '../tables.ts';

/** The bank tables of card authorization (migration 2026-11-22T0400-authorization). */
export interface AuthorizationTables extends BankTables {
  card_authorization_state: {
    pan: string; last_atc: number; pin_verification_value: string | null; pin_wrong_tries: number; held_fen: bigint;
  };
  authorization_messages: {
    id: import('kysely').Generated<bigint>;
    message_key: string;
    kind: 'authorization' | 'purchase' | 'refund' | 'completion' | 'reversal' | 'reversed_before_arrival';
    pan: string | null; amount_fen: bigint; rrn: string | null; terminal_id: string | null;
    response_code: string; decline_reason: string | null; auth_code: string | null; response_icc_hex: string | null;
    held_fen: bigint; balance_delta_fen: bigint; refunded_fen: bigint; original_rrn: string | null;
    reversed_at: Date | null; created_at: Date;
    /** Authorizations: when a completion turned the hold into a debit (undone if that completion is reversed). */
    completed_at: Date | null;
  };
}
