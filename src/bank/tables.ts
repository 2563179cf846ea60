/** The bank's own tables (schema of the bank party): card accounts, ID&V codes, quick-pay agreements. */
import type { CardBrand, CardKind } from './client.ts';

export interface BankTables {
  card_accounts: {
    pan: string; bank_code: string; kind: CardKind; brand: CardBrand; holder_name: string; id_number: string;
    reserved_phone: string; balance_fen: bigint; credit_limit_fen: bigint; status: CardStatus; expiry_yymm: string;
    pan_sequence: string; created_at: Date;
    /** The bank's own stable id for the card: what partners may keep instead of its number. */
    card_ref: string;
  };
  verifications: {
    id: string; pan: string; requester: string; purpose: string; code_hash: string; expires_at: Date;
    wrong_tries: number; consumed_at: Date | null; created_at: Date;
  };
  agreements: { id: string; pan: string; requester: string; verification_id: string; created_at: Date; revoked_at: Date | null };
}

export type CardStatus = 'active' | 'lost' | 'frozen' | 'closed';
