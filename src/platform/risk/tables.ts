/** Row types of the risk and identity-proof tables (migrations 2026-12-07T1750 and T1751). */
export interface RiskTables {
  risk_operations: {
    id: string; user_id: string; operation: string; outcome: 'succeeded' | 'failed' | 'failed_password' | 'refused';
    amount_fen: bigint | null; payee: string | null; card_id: string | null; device_id: string | null; device_model: string | null;
    os_version: string | null; network_type: string | null; ip: string | null; country: string | null; region: string | null;
    city: string | null; decision_id: string | null; created_at: Date;
  };
  risk_decisions: {
    id: string; user_id: string; operation: string; level: 'allow' | 'step_up' | 'review' | 'deny';
    enforced: 'allowed' | 'stepped_up' | 'refused'; fired: string; rule_set_version: number; created_at: Date;
  };
  risk_rule_sets: { version: number; rules: string; note: string; created_by: string; created_at: Date; active: boolean };
  identity_cases: {
    id: string; user_id: string; type: 'password_recovery' | 'unfreeze' | 'voucher'; status: 'pending_review' | 'approved' | 'rejected';
    request: string; why: string; reviewer: string | null; decision_reason: string | null; result: string | null; created_at: Date;
    decided_at: Date | null; documents_delete_after: Date | null;
  };
  identity_documents: {
    case_id: string; kind: 'id_front' | 'id_back' | 'holding_id'; media_type: string; width: number; height: number; size_bytes: number;
    sealed: string | null; created_at: Date; deleted_at: Date | null;
  };
  transaction_vouchers: {
    id: string; case_id: string; user_id: string; transaction_id: string; pdf: Buffer | Uint8Array; signature: string; created_at: Date;
  };
}
