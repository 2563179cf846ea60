import { sql, type Kysely } from 'kysely';
import { errors } from '../errors.ts';
import type { MerchantService, Order } from '../merchants/service.ts';
import { enqueueWebhook } from '../webhooks/outbox.ts';
import { orderToWire } from '../merchants/routes.ts';
import type { PlatformTables } from '../tables.ts';
import { cardLabel, ledgerCodes, walletLabel, type PaymentContext, type PaymentCore, type Transaction, type Verification } from './service.ts';

/** Gives an order back to be paid again after its payment `txn` failed. */
function unclaimOrder(txn: Transaction) {
  return async (trx: Kysely<PlatformTables>) => {
    await trx.updateTable('orders').set({ transaction_id: null, payer_user_id: null }).where('id', '=', txn.order_id!).where('transaction_id', '=', txn.id).execute();
  };
}

/** Takes a failed refund `txn` off the order's refunded total. */
function giveBackRefund(txn: Transaction) {
  return async (trx: Kysely<PlatformTables>) => {
    await trx.updateTable('orders').set({ refunded_fen: sql`refunded_fen - ${txn.amount_fen}` }).where('id', '=', txn.order_id!).execute();
  };
}

/**
 * Paying merchant orders with the balance or a bound card, and refunding them. An order is
 * claimed by its payment in the same database transaction that records the payment, so two
 * payers racing for one order cannot both pay it; a failed payment gives the claim back.
 */
export class OrderPayments {
  readonly #core: PaymentCore;
  readonly #merchants: MerchantService;

  constructor(core: PaymentCore, merchants: MerchantService) {
    this.#core = core;
    this.#merchants = merchants;
  }

  async pay(context: PaymentContext, input: { orderId: string; source: { kind: 'balance' } | { kind: 'card'; cardId: string }; verification: Verification }): Promise<{ order: Order; transaction: Transaction }> {
    const core = this.#core;
    const { order, merchant } = await this.#merchants.getOrder(input.orderId);
    if (order.status !== 'open') throw errors.order_not_payable(`The order is ${order.status}.`, 'order_id', { status: order.status });
    const payer = await core.activeAccount(context.userId);
    const card = input.source.kind === 'card' ? await core.deps.cards.get(context.userId, input.source.cardId, 'card_id') : undefined;
    const verified = await core.deps.verifier.check(context.userId, input.verification, { amountFen: order.amount_fen, payee: `order:${order.id}` });
    await core.checkRisk(context, 'payment', { amountFen: order.amount_fen, payee: `merchant:${merchant.code}`, cardId: card?.id ?? null },
      input.verification); // risk control
    const now = core.now();
    const txn = await core.begin({
      payer, verification: input.verification, verified,
      txn: {
        id: core.newTransactionId(), type: 'payment', amount_fen: order.amount_fen, currency: 'CNY', channel: card ? 'quick_pay' : 'balance',
        interface_type: context.interfaceType ?? 'api', payer_user_id: context.userId, payer_name: core.holderName(payer.account),
        payer_account: card ? cardLabel(card) : walletLabel(payer.phone), payee_user_id: null, payee_name: merchant.name,
        payee_account: `merchant ${merchant.code}`, merchant_id: merchant.id, merchant_name: merchant.name, merchant_code: merchant.code, mcc: merchant.mcc,
        order_id: order.id, refund_of: null, card_id: card?.id ?? null,
        authorization_method: '', authorization_reference: null,
        // Only balance payments count towards the account's limits; card payments are under the bank's.
        counts_toward_limits: !card, purpose: order.description, reason: null, trace_id: context.traceId,
      },
      claim: async (trx, txn) => {
        const claimed = await trx.updateTable('orders').set({ transaction_id: txn.id, payer_user_id: context.userId })
          .where('id', '=', order.id).where('status', '=', 'open').where('transaction_id', 'is', null).where('expires_at', '>', now).executeTakeFirst();
        return claimed.numUpdatedRows === 0n ? errors.order_not_payable('The order is being paid, paid or expired.', 'order_id') : undefined;
      },
    });
    if (!card) return this.settlePayment(txn, null);
    const moved = await core.moveOnCard(card, 'debit', order.amount_fen, txn.id);
    if (moved === 'pending') return { order: await this.#merchants.getOrderForMerchant(merchant.id, order.id), transaction: txn };
    return this.settlePayment(txn, { declineCode: moved.status === 'succeeded' ? null : moved.declineCode, reference: moved.transferId, limitFen: moved.limitFen });
  }

  /**
   * The second half of an order payment: the ledger moves the money to the merchant and the
   * order is paid; or, when the bank declined or the balance is short, the order is given back.
   * `bank` is the card movement's outcome, null for a balance payment.
   */
  async settlePayment(txn: Transaction, bank: { declineCode: string | null; reference: string; limitFen?: bigint | null } | null): Promise<{ order: Order; transaction: Transaction }> {
    const core = this.#core;
    const orderId = txn.order_id!;
    const merchantId = txn.merchant_id!;
    const unclaim = unclaimOrder(txn);
    const payerAccount = await core.deps.paymentAccounts.requireByUser(txn.payer_user_id!);
    let source = `wallet:${payerAccount.id}`;
    if (bank) {
      if (bank.declineCode) {
        await core.fail(txn, `card_declined:${bank.declineCode}`, undefined, unclaim);
        throw core.cardDeclined('payment', bank.declineCode, txn.id, bank.limitFen);
      }
      const card = await core.db.selectFrom('bound_cards').select('bank_code').where('id', '=', txn.card_id!).executeTakeFirstOrThrow();
      source = `bank_settlement:${card.bank_code}`;
    }
    const result = await core.ledgerTransfer({
      id: txn.id, debitAccountId: source, creditAccountId: `merchant:${merchantId}`, amountFen: txn.amount_fen, code: ledgerCodes.payment, userData: txn.id,
    });
    if (!bank && (result === 'exceeds_credits' || result === 'debit_account_not_found')) {
      await core.fail(txn, 'insufficient_balance', payerAccount.id, unclaim);
      throw errors.insufficient_balance('The balance does not cover this order; pay with a card or top up.', 'source', { transaction_id: txn.id });
    }
    core.assertApplied(result, 'order payment');
    const paidAt = core.now();
    let paid: Order | undefined;
    const transaction = await core.succeed(txn, { authorization_reference: bank?.reference ?? txn.id }, async (trx) => {
      paid = await trx.updateTable('orders').set({ status: 'paid', paid_at: paidAt }).where('id', '=', orderId).returningAll().executeTakeFirstOrThrow();
      await enqueueWebhook(trx, { merchantId, type: 'order.paid', data: { order: orderToWire(paid), transaction_id: txn.id }, now: paidAt });
    });
    return { order: paid!, transaction };
  }

  /** The merchant gives money back, to where it came from: the payer's balance, or the payer's card. */
  async refund(context: { merchantId: string; traceId: string }, input: { orderId: string; amountFen: bigint; reason: string }): Promise<{ order: Order; transaction: Transaction }> {
    const core = this.#core;
    const order = await this.#merchants.getOrderForMerchant(context.merchantId, input.orderId);
    if (order.status !== 'paid' || !order.transaction_id) throw errors.order_not_payable(`Only a paid order can be refunded; this one is ${order.status}.`, 'order_id');
    if (input.amountFen <= 0n) throw errors.parameter_invalid('amount_fen must be positive.', 'amount_fen');
    const payment = await core.db.selectFrom('transactions').selectAll().where('id', '=', order.transaction_id).executeTakeFirstOrThrow();
    const payerAccount = await core.deps.paymentAccounts.requireByUser(payment.payer_user_id!);
    const { merchant } = await this.#merchants.getOrder(order.id);
    const card = payment.card_id ? await core.db.selectFrom('bound_cards').selectAll().where('id', '=', payment.card_id).executeTakeFirstOrThrow() : undefined;
    const txn = await core.begin({
      txn: {
        id: core.newTransactionId(), type: 'refund', amount_fen: input.amountFen, currency: 'CNY', channel: payment.channel, interface_type: 'api',
        payer_user_id: null, payer_name: merchant.name, payer_account: `merchant ${merchant.code}`,
        payee_user_id: payment.payer_user_id, payee_name: payment.payer_name, payee_account: payment.payer_account,
        merchant_id: merchant.id, merchant_name: merchant.name, merchant_code: merchant.code, mcc: merchant.mcc, order_id: order.id, refund_of: payment.id,
        card_id: payment.card_id, authorization_method: 'merchant_api_key', authorization_reference: null, counts_toward_limits: false,
        purpose: null, reason: input.reason, trace_id: context.traceId,
      },
      claim: async (trx) => {
        const claimed = await trx.updateTable('orders').set({ refunded_fen: sql`refunded_fen + ${input.amountFen}` })
          .where('id', '=', order.id).where('status', '=', 'paid').where(sql<boolean>`refunded_fen + ${input.amountFen} <= amount_fen`).executeTakeFirst();
        return claimed.numUpdatedRows === 0n ? errors.refund_exceeds_payment('Refunds would total more than the order was paid.', 'amount_fen') : undefined;
      },
    });
    const destination = card ? `bank_settlement:${card.bank_code}` : `wallet:${payerAccount.id}`;
    // A hold on the merchant's balance first: the refund never spends money the merchant lacks.
    const hold = await core.ledgerTransfer({
      id: `${txn.id}:hold`, kind: 'pending', debitAccountId: `merchant:${merchant.id}`, creditAccountId: destination, amountFen: input.amountFen,
      code: ledgerCodes.refund, userData: txn.id,
    });
    if (hold === 'exceeds_credits') {
      await core.fail(txn, 'merchant_balance_insufficient', undefined, giveBackRefund(txn));
      throw errors.merchant_balance_insufficient('The merchant balance does not cover this refund.', 'amount_fen', { transaction_id: txn.id });
    }
    core.assertApplied(hold, 'refund hold');
    if (!card) return this.settleRefund(txn, null);
    const moved = await core.moveOnCard(card, 'credit', input.amountFen, txn.id);
    if (moved === 'pending') return { order: await this.#merchants.getOrderForMerchant(merchant.id, order.id), transaction: txn };
    return this.settleRefund(txn, { declineCode: moved.status === 'succeeded' ? null : moved.declineCode, reference: moved.transferId });
  }

  /** The second half of a refund: the merchant's hold posts (the order records it) or, on a decline, is voided and given back. */
  async settleRefund(txn: Transaction, bank: { declineCode: string | null; reference: string } | null): Promise<{ order: Order; transaction: Transaction }> {
    const core = this.#core;
    const orderId = txn.order_id!;
    if (bank?.declineCode) {
      core.assertApplied(await core.deps.ledger.createTransfer({ id: `${txn.id}:void`, kind: 'void_pending', pendingId: `${txn.id}:hold` }), 'refund void');
      await core.fail(txn, `card_declined:${bank.declineCode}`, undefined, giveBackRefund(txn));
      throw errors.card_declined(`The bank declined the refund to the card: ${bank.declineCode.replaceAll('_', ' ')}.`, 'order_id', { decline_code: bank.declineCode, transaction_id: txn.id });
    }
    core.assertApplied(await core.deps.ledger.createTransfer({ id: `${txn.id}:post`, kind: 'post_pending', pendingId: `${txn.id}:hold` }), 'refund post');
    const now = core.now();
    let updated: Order | undefined;
    const transaction = await core.succeed(txn, { authorization_reference: bank?.reference ?? txn.id }, async (trx) => {
      updated = await trx.updateTable('orders').set({ status: sql`case when refunded_fen = amount_fen then 'refunded' else status end` })
        .where('id', '=', orderId).returningAll().executeTakeFirstOrThrow();
      await enqueueWebhook(trx, { merchantId: txn.merchant_id!, type: 'order.refunded', data: { order: orderToWire(updated), transaction_id: txn.id, amount_fen: Number(txn.amount_fen), reason: txn.reason }, now });
    });
    return { order: updated!, transaction };
  }
}
