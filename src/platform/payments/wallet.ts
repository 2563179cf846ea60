import { errors } from '../errors.ts';
import { availableFen } from '../ledger/accounts.ts';
import { cardLabel, ledgerCodes, walletLabel, walletMovementFenMax, type PaymentContext, type PaymentCore, type Transaction, type Verification } from './service.ts';

/**
 * The balance (支付账户余额): top up from a bound card, withdraw to one, transfer to another Mi
 * account. Top-ups and withdrawals to one's own card do not count towards the class and daily
 * limits; transfers are balance payments and do.
 */
export class WalletPayments {
  readonly #core: PaymentCore;

  constructor(core: PaymentCore) {
    this.#core = core;
  }

  async balance(userId: string): Promise<{ availableFen: bigint; pendingOutFen: bigint }> {
    const { account } = await this.#core.activeAccount(userId);
    const wallet = await this.#core.deps.ledger.lookupAccount(`wallet:${account.id}`);
    if (!wallet) return { availableFen: 0n, pendingOutFen: 0n };
    return { availableFen: availableFen(wallet), pendingOutFen: wallet.debitsPendingFen };
  }

  /** Card → balance: the bank debits the card into the platform's settlement account, then the ledger credits the wallet. */
  async topUp(context: PaymentContext, input: { cardId: string; amountFen: bigint; verification: Verification }): Promise<Transaction> {
    const { txn, card } = await this.#beginCardMovement(context, input, 'top_up');
    const moved = await this.#core.moveOnCard(card, 'debit', input.amountFen, txn.id);
    if (moved === 'pending') return txn;
    return this.settleTopUp(txn, moved.status === 'succeeded' ? null : moved.declineCode, moved.transferId, moved.limitFen);
  }

  /**
   * What a top-up and a withdrawal share: the holder's own account and card, the payment
   * password, and the pending record (money between the holder's card and balance is not a
   * balance payment: excluded from the class limits, PBOC No. 43).
   */
  async #beginCardMovement(context: PaymentContext, input: { cardId: string; amountFen: bigint; verification: Verification }, type: 'top_up' | 'withdrawal') {
    const core = this.#core;
    core.requireAmount(input.amountFen, walletMovementFenMax);
    const payer = await core.activeAccount(context.userId);
    const card = await core.deps.cards.get(context.userId, input.cardId, 'card_id');
    const verified = await core.deps.verifier.check(context.userId, input.verification, undefined);
    await core.checkRisk(context, type, { amountFen: input.amountFen, payee: null, cardId: card.id }, input.verification); // risk control
    const [from, to] = type === 'top_up' ? [cardLabel(card), walletLabel(payer.phone)] : [walletLabel(payer.phone), cardLabel(card)];
    const txn = await core.begin({
      payer, verification: input.verification, verified,
      txn: {
        id: core.newTransactionId(), type, amount_fen: input.amountFen, currency: 'CNY', channel: 'quick_pay', interface_type: context.interfaceType ?? 'api',
        payer_user_id: context.userId, payer_name: core.holderName(payer.account), payer_account: from,
        payee_user_id: context.userId, payee_name: core.holderName(payer.account), payee_account: to,
        merchant_id: null, merchant_name: null, merchant_code: null, mcc: null, order_id: null, refund_of: null, card_id: card.id,
        authorization_method: 'payment_password', authorization_reference: null, counts_toward_limits: false, purpose: null, reason: null, trace_id: context.traceId,
      },
    });
    return { txn, card, payer };
  }

  /** The second half of a top-up, once the bank's outcome is known (now, or later by PendingSettlement). */
  async settleTopUp(txn: Transaction, declineCode: string | null, bankReference: string, limitFen?: bigint | null): Promise<Transaction> {
    const core = this.#core;
    if (declineCode) {
      await core.fail(txn, `card_declined:${declineCode}`);
      throw core.cardDeclined('top-up', declineCode, txn.id, limitFen);
    }
    const card = await core.db.selectFrom('bound_cards').select('bank_code').where('id', '=', txn.card_id!).executeTakeFirstOrThrow();
    const account = await core.deps.paymentAccounts.requireByUser(txn.payer_user_id!);
    core.assertApplied(await core.ledgerTransfer({
      id: txn.id, debitAccountId: `bank_settlement:${card.bank_code}`, creditAccountId: `wallet:${account.id}`, amountFen: txn.amount_fen,
      code: ledgerCodes.topUp, userData: txn.id,
    }), 'top-up');
    return core.succeed(txn, { authorization_reference: bankReference });
  }

  /** Balance → own card: a hold on the wallet first (so the money exists), then the bank pays the card, then the hold posts. */
  async withdraw(context: PaymentContext, input: { cardId: string; amountFen: bigint; verification: Verification }): Promise<Transaction> {
    const core = this.#core;
    const { txn, card, payer } = await this.#beginCardMovement(context, input, 'withdrawal');
    const hold = await core.ledgerTransfer({
      id: `${txn.id}:hold`, kind: 'pending', debitAccountId: `wallet:${payer.account.id}`, creditAccountId: `bank_settlement:${card.bank_code}`,
      amountFen: input.amountFen, code: ledgerCodes.withdrawal, userData: txn.id,
    });
    if (hold === 'exceeds_credits') {
      await core.fail(txn, 'insufficient_balance');
      throw errors.insufficient_balance('The balance does not cover this withdrawal.', 'amount_fen', { transaction_id: txn.id });
    }
    core.assertApplied(hold, 'withdrawal hold');
    const moved = await core.moveOnCard(card, 'credit', input.amountFen, txn.id);
    if (moved === 'pending') return txn;
    return this.settleWithdrawal(txn, moved.status === 'succeeded' ? null : moved.declineCode, moved.transferId);
  }

  async settleWithdrawal(txn: Transaction, declineCode: string | null, bankReference: string): Promise<Transaction> {
    const core = this.#core;
    if (declineCode) {
      core.assertApplied(await core.deps.ledger.createTransfer({ id: `${txn.id}:void`, kind: 'void_pending', pendingId: `${txn.id}:hold` }), 'withdrawal void');
      await core.fail(txn, `card_declined:${declineCode}`);
      throw errors.card_declined(`The bank declined the withdrawal: ${declineCode.replaceAll('_', ' ')}.`, 'card_id', { decline_code: declineCode, transaction_id: txn.id });
    }
    core.assertApplied(await core.deps.ledger.createTransfer({ id: `${txn.id}:post`, kind: 'post_pending', pendingId: `${txn.id}:hold` }), 'withdrawal post');
    return core.succeed(txn, { authorization_reference: bankReference });
  }

  /**
   * To another Mi account, named by the payee confirmation the payer was shown (payees.ts):
   * from the balance (a balance payment, counted against the payer's limits), or funded by a
   * bound card (the bank debits the card into the platform's settlement account under its own
   * quick-pay limits, then the ledger credits the payee).
   */
  async transfer(context: PaymentContext, input: {
    payeeConfirmation: string; amountFen: bigint; verification: Verification; note?: string | undefined; cardId?: string | undefined;
  }): Promise<Transaction> {
    const core = this.#core;
    core.requireAmount(input.amountFen);
    const payer = await core.activeAccount(context.userId);
    const payee = await core.deps.payees.resolve(context.userId, input.payeeConfirmation);
    if (payee.payeeUserId === context.userId) throw errors.payee_is_payer('A transfer needs another account; to move money to your own card, withdraw.', 'payee_confirmation');
    const card = input.cardId ? await core.deps.cards.get(context.userId, input.cardId) : undefined;
    const payeeRef = `mi:${payee.payeeMiNumber}`;
    const verified = await core.deps.verifier.check(context.userId, input.verification, { amountFen: input.amountFen, payee: `mi:${payee.payeeMiNumber}` });
    await core.checkRisk(context, 'transfer', { amountFen: input.amountFen, payee: payeeRef, cardId: card?.id ?? null }, input.verification); // risk control
    const txn = await core.begin({
      payer, verification: input.verification, verified,
      txn: {
        id: core.newTransactionId(), type: 'transfer', amount_fen: input.amountFen, currency: 'CNY', channel: card ? 'quick_pay' : 'balance',
        interface_type: context.interfaceType ?? 'api', payer_user_id: context.userId, payer_name: core.holderName(payer.account),
        payer_account: card ? cardLabel(card) : walletLabel(payer.phone),
        payee_user_id: payee.payeeUserId, payee_name: payee.maskedName, payee_account: walletLabel(payee.payeePhone),
        merchant_id: null, merchant_name: null, merchant_code: null, mcc: null, order_id: null, refund_of: null, card_id: card?.id ?? null,
        authorization_method: '', authorization_reference: null,
        // A card-funded transfer is not a balance payment: the bank's quick-pay limits apply to it instead.
        counts_toward_limits: !card, purpose: input.note ?? null, reason: null, trace_id: context.traceId,
      },
      claim: (trx, txn) => core.deps.payees.claim(trx, context.userId, payee.id, txn.id),
    });
    if (card) {
      const moved = await core.moveOnCard(card, 'debit', input.amountFen, txn.id);
      if (moved === 'pending') return txn;
      return this.settleCardTransfer(txn, moved.status === 'succeeded' ? null : moved.declineCode, moved.transferId, moved.limitFen);
    }
    const result = await core.ledgerTransfer({
      id: txn.id, debitAccountId: `wallet:${payer.account.id}`, creditAccountId: `wallet:${payee.payeeAccount.id}`, amountFen: input.amountFen,
      code: ledgerCodes.transfer, userData: txn.id,
    });
    if (result === 'exceeds_credits' || result === 'debit_account_not_found') {
      await core.fail(txn, 'insufficient_balance', payer.account.id);
      throw errors.insufficient_balance('The balance does not cover this transfer.', 'amount_fen', { transaction_id: txn.id });
    }
    core.assertApplied(result, 'transfer');
    return core.succeed(txn, { authorization_reference: txn.id });
  }

  /**
   * The second half of a card-funded transfer, once the bank's outcome is known (now, or later by
   * PendingSettlement, which also finishes one whose ledger credit failed after the bank debited:
   * the bank answers the same debit again by its reference, and the ledger applies the credit once).
   */
  async settleCardTransfer(txn: Transaction, declineCode: string | null, bankReference: string, limitFen?: bigint | null): Promise<Transaction> {
    const core = this.#core;
    if (declineCode) {
      await core.fail(txn, `card_declined:${declineCode}`);
      throw core.cardDeclined('transfer', declineCode, txn.id, limitFen);
    }
    const card = await core.db.selectFrom('bound_cards').select('bank_code').where('id', '=', txn.card_id!).executeTakeFirstOrThrow();
    const payeeAccount = await core.deps.paymentAccounts.requireByUser(txn.payee_user_id!);
    core.assertApplied(await core.ledgerTransfer({
      id: txn.id, debitAccountId: `bank_settlement:${card.bank_code}`, creditAccountId: `wallet:${payeeAccount.id}`, amountFen: txn.amount_fen,
      code: ledgerCodes.transfer, userData: txn.id,
    }), 'card-funded transfer');
    return core.succeed(txn, { authorization_reference: bankReference });
  }
}
