import type { Logger } from '../../infra/log/logger.ts';
import { PeriodicJob } from '../../infra/periodic-job.ts';
import { ApiError } from '../../infra/http/errors.ts';
import type { OrderPayments } from './orders.ts';
import type { PaymentCore, Transaction } from './service.ts';
import type { WalletPayments } from './wallet.ts';

/** Pending card movements older than this are asked about again; younger ones may still be in their request. */
export const pendingSettlementPolicy = { minAgeMs: 30_000, batchMax: 100, intervalMs: 30_000 } as const;

/**
 * Finishes transactions left pending because the bank did not answer. Each card movement is
 * sent again with the same reference — the bank applies a reference once, so this either
 * learns the first outcome or makes the movement now — and the transaction is settled by it.
 * Withdrawals and refunds hold the money in the ledger before the bank is asked; one found
 * without its hold never reached the bank, and fails.
 */
export class PendingSettlement {
  readonly #core: PaymentCore;
  readonly #wallet: WalletPayments;
  readonly #orders: OrderPayments;
  readonly #logger: Logger;
  readonly #job: PeriodicJob;

  constructor(core: PaymentCore, wallet: WalletPayments, orders: OrderPayments, logger: Logger) {
    this.#core = core;
    this.#wallet = wallet;
    this.#orders = orders;
    this.#logger = logger;
    this.#job = new PeriodicJob('pending-settlement', () => this.runOnce(), logger);
  }

  /** One pass; answers how many transactions it settled and how many are still waiting for the bank. */
  async runOnce(): Promise<{ settled: number; stillPending: number }> {
    const core = this.#core;
    const olderThan = new Date(core.now().getTime() - pendingSettlementPolicy.minAgeMs);
    const pending = await core.db.selectFrom('transactions').selectAll().where('status', '=', 'pending').where('channel', '=', 'quick_pay')
      .where('created_at', '<', olderThan).orderBy('created_at').limit(pendingSettlementPolicy.batchMax).execute();
    let settled = 0;
    for (const txn of pending) {
      if (await this.#settle(txn)) settled += 1;
    }
    return { settled, stillPending: pending.length - settled };
  }

  async #settle(txn: Transaction): Promise<boolean> {
    const core = this.#core;
    const outward = txn.type === 'withdrawal' || txn.type === 'refund';
    if (outward && (await core.deps.ledger.lookupTransfers([`${txn.id}:hold`])).length === 0) {
      await core.fail(txn, 'interrupted_before_bank');
      return true;
    }
    const card = await core.db.selectFrom('bound_cards').selectAll().where('id', '=', txn.card_id!).executeTakeFirstOrThrow();
    const moved = await core.moveOnCard(card, outward ? 'credit' : 'debit', txn.amount_fen, txn.id);
    if (moved === 'pending') return false;
    const declineCode = moved.status === 'succeeded' ? null : moved.declineCode;
    try {
      switch (txn.type) {
        case 'top_up': await this.#wallet.settleTopUp(txn, declineCode, moved.transferId, moved.limitFen); break;
        case 'withdrawal': await this.#wallet.settleWithdrawal(txn, declineCode, moved.transferId); break;
        case 'payment': await this.#orders.settlePayment(txn, { declineCode, reference: moved.transferId, limitFen: moved.limitFen }); break;
        case 'refund': await this.#orders.settleRefund(txn, { declineCode, reference: moved.transferId }); break;
        case 'transfer': await this.#wallet.settleCardTransfer(txn, declineCode, moved.transferId, moved.limitFen); break;
      }
    } catch (error) {
      // A decline settles the transaction as failed; the settle step has recorded it.
      if (!(error instanceof ApiError)) throw error;
    }
    this.#logger.info({ transaction: txn.id, type: txn.type, outcome: declineCode ?? 'succeeded' }, 'pending transaction settled');
    return true;
  }

  /** Runs passes every `intervalMs` until `stop()`. */
  start(intervalMs: number = pendingSettlementPolicy.intervalMs): void {
    this.#job.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }
}
