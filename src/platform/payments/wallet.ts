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
    return this.settleTopUp(txn, moved.status === 'succeeded' ? null : moved.declineCode, moved.transferId);
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
    await core.deps.paymentAccounts.verifyPaymentPassword(context.userId, input.verification.paymentPassword);
    const [from, to] = type === 'top_up' ? [cardLabel(card), walletLabel(payer.phone)] : [walletLabel(payer.phone), cardLabel(card)];
    const txn = await core.begin({
      payer, verification: input.verification,
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
  async settleTopUp(txn: Transaction, declineCode: string | null, bankReference: string): Promise<Transaction> {
    const core = this.#core;
    if (declineCode) {
      await core.fail(txn, `card_declined:${declineCode}`);
      throw errors.card_declined(`The bank declined the top-up: ${declineCode.replaceAll('_', ' ')}.`, 'card_id', { decline_code: declineCode, transaction_id: txn.id });
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

  /** Balance → another Mi account's balance: a balance payment, counted against the payer's limits. */
  async transfer(context: PaymentContext, input: { payeePhone: string; amountFen: bigint; verification: Verification; note?: string | undefined }): Promise<Transaction> {
    const core = this.#core;
    core.requireAmount(input.amountFen);
    const payer = await core.activeAccount(context.userId);
    const payeeUser = await core.db.selectFrom('users').select(['id', 'phone']).where('phone', '=', input.payeePhone).where('status', '=', 'active').executeTakeFirst();
    const payeeAccount = payeeUser ? await core.deps.paymentAccounts.findByUser(payeeUser.id) : undefined;
    if (!payeeUser || !payeeAccount || payeeAccount.status !== 'active') throw errors.payee_not_found('No Mi account with a payment account has this phone number.', 'payee_phone');
    if (payeeUser.id === context.userId) throw errors.payee_is_payer('A transfer needs another account; to move money to your own card, withdraw.', 'payee_phone');
    await core.deps.paymentAccounts.verifyPaymentPassword(context.userId, input.verification.paymentPassword);
    const txn = await core.begin({
      payer, verification: input.verification,
      txn: {
        id: core.newTransactionId(), type: 'transfer', amount_fen: input.amountFen, currency: 'CNY', channel: 'balance', interface_type: context.interfaceType ?? 'api',
        payer_user_id: context.userId, payer_name: core.holderName(payer.account), payer_account: walletLabel(payer.phone),
        payee_user_id: payeeUser.id, payee_name: core.holderName(payeeAccount), payee_account: walletLabel(payeeUser.phone),
        merchant_id: null, merchant_name: null, merchant_code: null, mcc: null, order_id: null, refund_of: null, card_id: null,
        authorization_method: input.verification.smsCode ? 'payment_password+sms' : 'payment_password', authorization_reference: null,
        counts_toward_limits: true, purpose: input.note ?? null, reason: null, trace_id: context.traceId,
      },
    });
    const result = await core.ledgerTransfer({
      id: txn.id, debitAccountId: `wallet:${payer.account.id}`, creditAccountId: `wallet:${payeeAccount.id}`, amountFen: input.amountFen,
      code: ledgerCodes.transfer, userData: txn.id,
    });
    if (result === 'exceeds_credits' || result === 'debit_account_not_found') {
      await core.fail(txn, 'insufficient_balance', payer.account.id);
      throw errors.insufficient_balance('The balance does not cover this transfer.', 'amount_fen', { transaction_id: txn.id });
    }
    core.assertApplied(result, 'transfer');
    return core.succeed(txn, { authorization_reference: txn.id });
  }
}
