/**
 * Transfers: what callers ask the ledger to do, and the ledger's answer per transfer.
 * Business refusals (insufficient funds, a hold already posted) are result values, never thrown.
 */

/** `posted`: moves money now. `pending`: a hold. `post_pending` / `void_pending`: resolve a hold. */
export type TransferKind = 'posted' | 'pending' | 'post_pending' | 'void_pending';

export interface TransferRequest {
  /** Chosen by the caller (e.g. derived from a payment's id): a transfer id applies once, ever. */
  id: string;
  /** Required for `posted` and `pending`; for a post or void, optional and must match the hold. */
  debitAccountId?: string;
  creditAccountId?: string;
  /**
   * Positive fen. Required for `posted` and `pending`. A post may take less than the hold (the
   * rest is released) and defaults to all of it; a void defaults to, and must equal, the hold.
   */
  amountFen?: bigint;
  /** Default `posted`. */
  kind?: TransferKind;
  /** The hold that a `post_pending` or `void_pending` resolves. */
  pendingId?: string;
  /** For `pending` only: after this many seconds the hold can no longer be posted; 0 = no expiry. */
  timeoutSeconds?: number;
  /** The payments layer's reason code (top-up, withdrawal, …); the ledger stores it. */
  code?: number;
  /** The payments layer's reference (e.g. its transaction id); the ledger stores it. */
  userData?: string;
}

/** Refusals found without reading the database; the transfer never reaches the writer. */
export const staticTransferResults = [
  'id_must_not_be_empty', 'id_too_long', 'amount_must_not_be_zero', 'amount_must_not_be_negative', 'amount_too_large',
  'debit_account_id_must_be_set', 'credit_account_id_must_be_set', 'accounts_must_be_different',
  'pending_id_must_be_set', 'pending_id_must_not_be_set', 'timeout_reserved_for_pending_transfer', 'timeout_invalid',
  'code_invalid', 'user_data_too_long',
] as const;

/** Answers of `platform.ledger_create_transfers` (see create-transfers-sql.ts). */
export const appliedTransferResults = [
  'ok', 'exists', 'exists_with_different_fields', 'debit_account_not_found', 'credit_account_not_found',
  'exceeds_credits', 'exceeds_debits', 'pending_transfer_not_found', 'pending_transfer_not_pending',
  'pending_transfer_already_posted', 'pending_transfer_already_voided', 'pending_transfer_expired',
  'pending_transfer_has_different_debit_account_id', 'pending_transfer_has_different_credit_account_id',
  'exceeds_pending_transfer_amount', 'pending_transfer_has_different_amount',
] as const;

/**
 * `ok`: applied now. `exists`: applied before with the same fields (treat as success — this is
 * how a retried request learns it already happened). `exceeds_credits`: the debit account's
 * balance would go below zero (insufficient funds). Anything else: refused, nothing changed —
 * and nothing stored, so a refused id may be submitted again later (e.g. once funds arrive),
 * as in TigerBeetle. The payments layer's idempotency keys decide whether a request is repeated.
 */
export type TransferResult = (typeof staticTransferResults)[number] | (typeof appliedTransferResults)[number];

export const transferIdLengthMax = 128;
export const userDataLengthMax = 256;
/** ¥10 billion in one transfer: far above any payment, and low enough that balances never near int8's limit. */
export const amountFenMax = 1_000_000_000_000n;
/** Holds last at most 30 days (card pre-authorizations are the longest). */
export const timeoutSecondsMax = 30 * 86_400;
export const codeMax = 65_535;

const appliedResultSet: ReadonlySet<string> = new Set(appliedTransferResults);

export function isAppliedTransferResult(value: string): value is (typeof appliedTransferResults)[number] {
  return appliedResultSet.has(value);
}

/** True for the results that mean "the money moved", now or on an earlier submission. */
export function isTransferApplied(result: TransferResult): boolean {
  return result === 'ok' || result === 'exists';
}

/** The checks that need no database. Returns undefined when the transfer may go to the writer. */
export function validateTransfer(t: TransferRequest): TransferResult | undefined {
  if (t.id.length === 0) return 'id_must_not_be_empty';
  if (t.id.length > transferIdLengthMax) return 'id_too_long';
  const kind = t.kind ?? 'posted';
  const resolvesHold = kind === 'post_pending' || kind === 'void_pending';
  if (t.amountFen !== undefined) {
    if (t.amountFen === 0n) return 'amount_must_not_be_zero';
    if (t.amountFen < 0n) return 'amount_must_not_be_negative';
    if (t.amountFen > amountFenMax) return 'amount_too_large';
  } else if (!resolvesHold) {
    return 'amount_must_not_be_zero';
  }
  if (!resolvesHold) {
    if (!t.debitAccountId) return 'debit_account_id_must_be_set';
    if (!t.creditAccountId) return 'credit_account_id_must_be_set';
  }
  if (t.debitAccountId !== undefined && t.debitAccountId === t.creditAccountId) return 'accounts_must_be_different';
  if (resolvesHold && !t.pendingId) return 'pending_id_must_be_set';
  if (!resolvesHold && t.pendingId !== undefined) return 'pending_id_must_not_be_set';
  const timeout = t.timeoutSeconds ?? 0;
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > timeoutSecondsMax) return 'timeout_invalid';
  if (timeout > 0 && kind !== 'pending') return 'timeout_reserved_for_pending_transfer';
  const code = t.code ?? 0;
  if (!Number.isInteger(code) || code < 0 || code > codeMax) return 'code_invalid';
  if (t.userData !== undefined && t.userData.length > userDataLengthMax) return 'user_data_too_long';
  return undefined;
}

/** A stored transfer (immutable). For a post or void, accounts and amount are the effective ones. */
export interface LedgerTransfer {
  id: string;
  seq: bigint;
  debitAccountId: string;
  creditAccountId: string;
  amountFen: bigint;
  kind: TransferKind;
  pendingId: string | null;
  timeoutSeconds: number;
  expiresAt: Date | null;
  code: number;
  userData: string | null;
  createdAt: Date;
}
