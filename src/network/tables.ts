import type { Generated } from 'kysely';

export interface NetworkTables {
  terminals: {
    terminal_id: string; merchant_id: string; merchant_name: string; mcc: string; created_at: Date;
    tmk_wrapped: string | null; tpk_wrapped: string | null; tak_wrapped: string | null; keys_issued_at: Date | null; key_generation: Generated<number>;
    /** STAN (field 11) of the last accepted sign-on or key change: a replayed 0800 carries one not newer. */
    sign_on_stan: string | null;
  };
  transactions: {
    id: Generated<bigint>;
    terminal_id: string; terminal_stan: string; pos_date: string; pos_time: string; pos_mti: string;
    kind: 'authorization' | 'purchase' | 'refund' | 'completion'; processing_code: string; merchant_id: string;
    /** No full card or token number: first 6 + last 4, a keyed hash, and the number sealed while a reversal or completion may need it. */
    pan_first6: string; pan_last4: string; pan_hash: string | null; pan_sealed: string | null;
    token_last4: string | null; token_hash: string | null; token_sealed: string | null; amount_fen: bigint; issuer_code: string | null;
    transmission: string; business_date: string;
    status: 'pending' | 'answered' | 'timed_out';
    response_code: string | null; auth_code: string | null; response_fields: string | null; original_rrn: string | null;
    reversal_status: 'none' | 'pending' | 'done' | 'failed'; reversal_transmission: string | null; reversal_attempts: number;
    reversal_next_at: Date | null; created_at: Date;
  };
}

/** The network's STAN toward the issuer: 000001–999999 from the log row id. */
export function networkStan(id: bigint): string {
  return String(((id - 1n) % 999_999n) + 1n).padStart(6, '0');
}

/** The retrieval reference number: the log row id on 12 digits, unique across days. */
export function retrievalReference(id: bigint): string {
  return String(id % 10n ** 12n).padStart(12, '0');
}

/** MMDDhhmmss in UTC, field 7. */
export function transmissionDateTime(now: Date): string {
  const iso = now.toISOString();
  return iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
}

/** The network's business day: the calendar date in China (UTC+8). */
export function businessDate(now: Date): string {
  return new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
}
