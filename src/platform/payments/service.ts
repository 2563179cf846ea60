import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { BankError, type AgreementTransfer, type BankClient } from '../../bank/client.ts';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import { maskPhone } from '../../infra/validation/phone.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import { bankRefusal } from '../bank-refusal.ts';
import type { BoundCard, CardService } from '../cards/service.ts';
import { errors } from '../errors.ts';
import { bankSettlementAccount, walletAccount } from '../ledger/accounts.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { isTransferApplied, type TransferRequest, type TransferResult } from '../ledger/transfers.ts';
import { maskName } from '../payment-account/identity.ts';
import type { PaymentAccountRow, PaymentAccountService } from '../payment-account/service.ts';
import type { PlatformTables } from '../tables.ts';
import { releaseLimits, reserveLimits } from './limits.ts';
import type { PayeeDirectory } from './payees.ts';
import type { PaymentVerifier, Verification, VerifiedFactors } from './verification.ts';
import type { RequestRiskContext } from '../risk/context.ts';
import type { RiskGate } from '../risk/gate.ts';
import type { OperationFacts, RiskOperation } from '../risk/rules.ts';

export type Transaction = PlatformTables['transactions'];

/** Ledger transfer codes: why money moved, stored with each transfer. */
export const ledgerCodes = { topUp: 1, withdrawal: 2, transfer: 3, payment: 4, refund: 5 } as const;

/**
 * One balance payment or transfer is at most ¥50,000 (far above the ¥5,000 daily two-factor
 * limit; above ¥50,000 a corporate transfer would also need purpose and reason, and personal
 * accounts make none). Top-ups and withdrawals to one's own card may be larger.
 */
export const paymentAmountFenMax = 5_000_000n;
export const walletMovementFenMax = 100_000_000n;

export type { CertificateStatement, FingerprintStatement, Verification, VerifiedFactors } from './verification.ts';

export interface PaymentContext {
  userId: string;
  traceId: string;
  interfaceType?: string;
  /** The request's risk context (risk/context.ts): set by the routes, read by `checkRisk`. */
  risk?: RequestRiskContext | undefined;
}

export interface PaymentDeps {
  db: Kysely<PlatformTables>;
  ledger: Ledger;
  bank: BankClient;
  paymentAccounts: PaymentAccountService;
  cards: CardService;
  codes: SmsCodes;
  verifier: PaymentVerifier;
  payees: PayeeDirectory;
  clock: () => Date;
  /** The risk engine's gate; without it (unit tests of the core) payments are not risk-checked. */
  risk?: RiskGate | undefined;
}

export function formatYuan(fen: bigint): string {
  return `${(fen / 100n).toLocaleString('en-US')}.${String(fen % 100n).padStart(2, '0')}`;
}

export function walletLabel(phone: string): string {
  return `Mi Pay balance ${maskPhone(phone)}`;
}

export function cardLabel(card: Pick<BoundCard, 'bank_name' | 'last4'>): string {
  return `${card.bank_name} ****${card.last4}`;
}

/**
 * The shared machinery of every money movement: recording the transaction, checking the
 * payer, reserving limits, moving money on a card at the bank, and settling the record.
 * Each movement is applied once: ledger transfer ids and bank references are derived from the
 * transaction id, so a retry after a lost answer finds the first outcome.
 */
export class PaymentCore {
  readonly deps: PaymentDeps;

  constructor(deps: PaymentDeps) {
    this.deps = deps;
  }

  get db(): Kysely<PlatformTables> {
    return this.deps.db;
  }

  now(): Date {
    return this.deps.clock();
  }

  async activeAccount(userId: string): Promise<{ account: PaymentAccountRow; phone: string }> {
    const account = await this.deps.paymentAccounts.requireByUser(userId);
    if (account.status !== 'active') throw errors.payment_account_not_found(`The payment account is ${account.status}.`);
    const user = await this.db.selectFrom('users').select('phone').where('id', '=', userId).executeTakeFirstOrThrow();
    return { account, phone: user.phone };
  }

  /**
   * Risk control (risk/gate.ts): the decision on this payment once its factors are checked and
   * before it is recorded. A step-up is satisfied by the factors the request carries (the SMS
   * code is consumed when the payment begins); review and deny refuse it with a message for the user.
   */
  async checkRisk(context: PaymentContext, operation: RiskOperation, facts: Pick<OperationFacts, 'amountFen' | 'payee' | 'cardId'>,
    verification: Verification): Promise<void> {
    if (!this.deps.risk || !context.risk) return;
    await this.deps.risk.check(context.userId, operation, facts, context.risk, {
      password: verification.paymentPassword !== undefined, smsCode: verification.smsCode !== undefined,
      fingerprint: verification.fingerprint !== undefined, certificate: verification.certificate !== undefined,
    });
  }

  requireAmount(amountFen: bigint, maxFen: bigint = paymentAmountFenMax): void {
    if (amountFen <= 0n || amountFen > maxFen) throw errors.parameter_invalid(`amount_fen must be between 1 and ${maxFen}.`, 'amount_fen');
  }

  /**
   * Counts the verification factors of a payment: those `verified` before (password, fingerprint,
   * certificate) and its optional SMS code, consumed inside `trx`. A wrong code is reported, not
   * thrown, so that its counted try commits.
   */
  async verify(trx: Kysely<PlatformTables>, phone: string, verification: Verification, verified: VerifiedFactors): Promise<{ factors: number; method: string; error?: Error }> {
    const method = verified.methods.join('+');
    if (verification.smsCode === undefined) return { factors: verified.methods.length, method };
    const consumed = await this.deps.codes.consume(trx, phone, 'payment', verification.smsCode);
    if (consumed.error) return { factors: verified.methods.length, method, error: consumed.error };
    return { factors: verified.methods.length + 1, method: method ? `${method}+sms` : 'sms' };
  }

  /**
   * Records a pending transaction, with the balance-payment limits reserved when it counts
   * towards them. Runs under the payer account's row lock. `claim` lets the caller take
   * another row in the same transaction (an order); it answers an error to refuse.
   */
  async begin(input: {
    txn: Omit<Transaction, 'status' | 'created_at' | 'completed_at' | 'failure_code' | 'verification_factors'>;
    payer?: { account: PaymentAccountRow; phone: string } | undefined;
    verification?: Verification | undefined;
    /** The factors checked before (`deps.verifier.check`); required with `verification`. */
    verified?: VerifiedFactors | undefined;
    claim?: ((trx: Kysely<PlatformTables>, txn: Transaction) => Promise<Error | undefined>) | undefined;
  }): Promise<Transaction> {
    const now = this.now();
    const outcome = await transactionWithRetry(this.db, async (trx) => {
      let factors = 0;
      let method = input.txn.authorization_method;
      if (input.payer && input.verification) {
        assert.ok(input.verified, 'a verified payment has its factors checked before it begins');
        const verified = await this.verify(trx, input.payer.phone, input.verification, input.verified);
        if (verified.error) return { error: verified.error };
        factors = verified.factors;
        method = verified.method;
      }
      const txn: Transaction = {
        ...input.txn, authorization_method: method, status: 'pending', verification_factors: factors, failure_code: null, created_at: now, completed_at: null,
      };
      if (input.claim) {
        const refusal = await input.claim(trx, txn);
        if (refusal) return { rollback: refusal };
      }
      if (txn.counts_toward_limits) {
        assert.ok(input.payer, 'a payment counted towards limits has a payer account');
        await trx.selectFrom('payment_accounts').select('id').where('id', '=', input.payer.account.id).forUpdate().execute();
        const view = await this.deps.paymentAccounts.viewAccount(trx, input.payer.account);
        // The certificate tier: a certificate's signature plus one more factor uses the daily limit its holder agreed.
        const certificateDailyLimitFen = factors >= 2 ? input.verified?.certificateDailyLimitFen ?? null : null;
        await reserveLimits(trx, {
          accountId: input.payer.account.id, accountClass: view.effectiveClass, amountFen: txn.amount_fen, factors, certificateDailyLimitFen, at: now,
        });
      }
      await trx.insertInto('transactions').values(txn).execute();
      return { txn };
    });
    if ('error' in outcome) throw outcome.error;
    if ('rollback' in outcome) throw outcome.rollback;
    return outcome.txn;
  }

  /** Marks a transaction done; `also` runs in the same database transaction (an order's status, a webhook). */
  async succeed(txn: Transaction, fields: Partial<Transaction> = {}, also?: (trx: Kysely<PlatformTables>) => Promise<void>): Promise<Transaction> {
    const completed = { ...fields, status: 'succeeded' as const, completed_at: this.now() };
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('transactions').set(completed).where('id', '=', txn.id).where('status', '=', 'pending').execute();
      await also?.(trx);
    });
    return { ...txn, ...completed };
  }

  /** Marks a transaction failed and gives back any limit reservation; `also` undoes what `begin`'s claim took. */
  async fail(txn: Transaction, failureCode: string, payerAccountId?: string, also?: (trx: Kysely<PlatformTables>) => Promise<void>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('transactions').set({ status: 'failed', failure_code: failureCode, completed_at: this.now() })
        .where('id', '=', txn.id).where('status', '=', 'pending').executeTakeFirst();
      if (updated.numUpdatedRows === 0n) return;
      if (txn.counts_toward_limits && payerAccountId) {
        await releaseLimits(trx, { accountId: payerAccountId, amountFen: txn.amount_fen, factors: txn.verification_factors, at: txn.created_at });
      }
      await also?.(trx);
    });
  }

  async ledgerTransfer(transfer: TransferRequest): Promise<TransferResult> {
    const accounts = [transfer.debitAccountId, transfer.creditAccountId].filter((id): id is string => id !== undefined);
    await this.ensureAccounts(accounts);
    return this.deps.ledger.createTransfer(transfer);
  }

  /** Opens ledger accounts named by the chart in ledger/accounts.ts; opening one twice is harmless. */
  async ensureAccounts(ids: string[]): Promise<void> {
    const requests = ids.map((id) => {
      const [kind, rest] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
      if (kind === 'wallet') return walletAccount(rest);
      if (kind === 'bank_settlement') return bankSettlementAccount(rest);
      if (kind === 'merchant') return { id, kind: 'merchant' as const, debitsMustNotExceedCredits: true, userData: rest };
      throw new Error(`no chart entry for ledger account ${id}`);
    });
    const results = await this.deps.ledger.createAccounts(requests);
    for (const [i, result] of results.entries()) assert.ok(result === 'ok' || result === 'exists', `ledger account ${ids[i]}: ${result}`);
  }

  /** A ledger result that must have applied: anything else is a bug in the chart of accounts, not a user error. */
  assertApplied(result: TransferResult, what: string): void {
    assert.ok(isTransferApplied(result), `${what}: ledger answered ${result}`);
  }

  /**
   * Moves money on a bound card at its bank, once per reference. When the bank does not answer,
   * its outcome is asked for by reference; if that is unknown too, the answer is 'pending': the
   * transaction stays pending and `PendingSettlement` finishes it when the bank answers again.
   */
  async moveOnCard(card: BoundCard, direction: 'debit' | 'credit', amountFen: bigint, reference: string): Promise<AgreementTransfer | 'pending'> {
    try {
      return await this.deps.bank.transferOnAgreement({ agreementId: card.agreement_id, direction, amountFen, reference });
    } catch (error) {
      if (!(error instanceof BankError) || error.code !== 'unavailable') throw bankRefusal(error);
      const known = await this.deps.bank.findAgreementTransfer(reference).catch(() => undefined);
      return known ?? 'pending';
    }
  }

  /** The current row of a transaction (after a settle step changed it). */
  async reload(txn: Transaction): Promise<Transaction> {
    return this.db.selectFrom('transactions').selectAll().where('id', '=', txn.id).executeTakeFirstOrThrow();
  }

  /** The refusal for a card movement the bank declined; a quick-pay limit decline names the bank's limit. */
  cardDeclined(what: string, declineCode: string, transactionId: string, limitFen: bigint | null | undefined, param = 'card_id'): Error {
    const limit = limitFen !== null && limitFen !== undefined
      ? ` (the bank's quick-pay ${declineCode === 'quick_pay_single_limit' ? 'limit per payment' : 'daily limit'} is ¥${formatYuan(limitFen)})`
      : '';
    return errors.card_declined(`The bank declined the ${what}: ${declineCode.replaceAll('_', ' ')}${limit}.`, param, {
      decline_code: declineCode, transaction_id: transactionId, ...(limit ? { limit_fen: Number(limitFen) } : {}),
    });
  }

  holderName(account: PaymentAccountRow): string {
    return maskName(account.holder_name);
  }

  newTransactionId(): string {
    return newId('txn');
  }
}
