import type { Generated } from 'kysely';

export interface TransitTables {
  cards: {
    card_number: string; brand_code: string; request_id: string; status: 'active' | 'closed'; close_reason: string | null;
    created_at: Date; closed_at: Date | null;
    close_challenge: string | null; proven_balance_fen: bigint | null; carried_to: string | null; carry_load_id: string | null;
  };
  card_numbers: { brand_code: string; last_serial: bigint };
  loads: {
    load_id: string; card_number: string; online_seq: number; amount_fen: bigint; balance_before_fen: bigint; random: string;
    terminal_id: string; mac2: string; load_date: string; load_time: string; status: 'signed' | 'confirmed' | 'voided'; created_at: Date;
  };
  settled_records: {
    card_number: string; offline_seq: number; issuer_brand: string; acquirer_brand: string; gate_id: string; amount_fen: bigint;
    transaction_type: number; terminal_id: string; terminal_seq: bigint; tx_date: string; tx_time: string; tac: string;
    description: string | null; settled_at: Date;
  };
  rejected_records: {
    id: Generated<bigint>; card_number: string; offline_seq: number; gate_id: string; reason: string; tac: string; rejected_at: Date;
  };
  blacklist: { card_number: string; brand_code: string; reason: string; created_at: Date };
}
