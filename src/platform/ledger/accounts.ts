/**
 * Ledger accounts: who holds the money. Each carries four counters (debits/credits, pending/
 * posted) in fen; its balance is derived from them, never stored on its own.
 *
 * The platform's chart of accounts (ids are readable and chosen here, so opening one twice is
 * harmless):
 *  - `wallet:<payment account id>` — a user's balance. The platform owes it to the user, so it
 *    is credit-normal and may never go below zero (debits_must_not_exceed_credits).
 *  - `merchant:<merchant id>` — what the platform owes a merchant until settlement; never negative.
 *  - `bank_settlement:<bank code>` — the platform's position at each bank: a top-up debits it
 *    (the bank collects the user's money for the platform), a withdrawal credits it.
 *  - `fee:revenue` — fees the platform earned; never negative.
 *  - `float:reserve` — the platform's own funds, the other side of adjustments and promotions.
 */

export const ledgerAccountKinds = ['user_wallet', 'bank_settlement', 'fee', 'merchant', 'float', 'test'] as const;
export type LedgerAccountKind = (typeof ledgerAccountKinds)[number];

export interface AccountRequest {
  id: string;
  kind: LedgerAccountKind;
  /** Debits (posted + pending) never exceed posted credits: the balance never goes negative. */
  debitsMustNotExceedCredits?: boolean;
  /** Credits (posted + pending) never exceed posted debits. */
  creditsMustNotExceedDebits?: boolean;
  code?: number;
  userData?: string;
}

export type CreateAccountResult =
  | 'ok' | 'exists' | 'exists_with_different_fields'
  | 'id_must_not_be_empty' | 'id_too_long' | 'flags_are_mutually_exclusive' | 'code_invalid' | 'user_data_too_long';

export interface LedgerAccount {
  id: string;
  kind: LedgerAccountKind;
  debitsMustNotExceedCredits: boolean;
  creditsMustNotExceedDebits: boolean;
  code: number;
  userData: string | null;
  debitsPendingFen: bigint;
  debitsPostedFen: bigint;
  creditsPendingFen: bigint;
  creditsPostedFen: bigint;
  createdAt: Date;
}

export const accountIdLengthMax = 128;

export function validateAccount(a: AccountRequest): CreateAccountResult | undefined {
  if (a.id.length === 0) return 'id_must_not_be_empty';
  if (a.id.length > accountIdLengthMax) return 'id_too_long';
  if (a.debitsMustNotExceedCredits && a.creditsMustNotExceedDebits) return 'flags_are_mutually_exclusive';
  const code = a.code ?? 0;
  if (!Number.isInteger(code) || code < 0 || code > 65_535) return 'code_invalid';
  if (a.userData !== undefined && a.userData.length > 256) return 'user_data_too_long';
  return undefined;
}

/** What a credit-normal account (wallet, merchant, fee) holds now, holds included as spent. */
export function availableFen(a: LedgerAccount): bigint {
  return a.creditsPostedFen - a.debitsPostedFen - a.debitsPendingFen;
}

/** Posted credits minus posted debits: the figure a statement shows. */
export function postedBalanceFen(a: LedgerAccount): bigint {
  return a.creditsPostedFen - a.debitsPostedFen;
}

export function walletAccount(paymentAccountId: string): AccountRequest {
  return { id: `wallet:${paymentAccountId}`, kind: 'user_wallet', debitsMustNotExceedCredits: true, userData: paymentAccountId };
}

export function merchantAccount(merchantId: string): AccountRequest {
  return { id: `merchant:${merchantId}`, kind: 'merchant', debitsMustNotExceedCredits: true, userData: merchantId };
}

export function bankSettlementAccount(bankCode: string): AccountRequest {
  return { id: `bank_settlement:${bankCode}`, kind: 'bank_settlement', userData: bankCode };
}

export const feeRevenueAccount: AccountRequest = { id: 'fee:revenue', kind: 'fee', debitsMustNotExceedCredits: true };
export const floatReserveAccount: AccountRequest = { id: 'float:reserve', kind: 'float' };

/** The platform's own accounts: one settlement account per bank, the fee account and the float. */
export function platformAccounts(bankCodes: readonly string[]): AccountRequest[] {
  return [...bankCodes.map(bankSettlementAccount), feeRevenueAccount, floatReserveAccount];
}
