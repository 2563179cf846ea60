import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import { mobilePhone } from '../../infra/validation/phone.ts';
import { miNumberPattern } from '../accounts/mi-number.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import type { Idempotency } from '../idempotency/idempotency.ts';
import { callingMerchant, orderSchema, orderToWire, requireMerchant } from '../merchants/routes.ts';
import type { MerchantService } from '../merchants/service.ts';
import { errors, idempotencyErrors, paymentVerificationErrors } from '../errors.ts';
import type { OrderPayments } from './orders.ts';
import { transactionsToCsv, type HistoryEntry, type TransactionHistory } from './history.ts';
import type { DeviceCardTransaction } from '../transactions/device-card-notices.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';
import type { PayeeDirectory } from './payees.ts';
import { paymentAmountFenMax, walletLabel, walletMovementFenMax, type Transaction, type Verification } from './service.ts';
import type { WalletPayments } from './wallet.ts';
import { riskContextOf } from '../risk/context.ts';
import { riskErrors } from '../risk/errors.ts';

const amountFen = z.number().int().positive().max(Number(paymentAmountFenMax)).describe('Amount in fen (1 yuan = 100 fen); at most ¥50,000');
/** Between the holder's own card and balance: not a balance payment, so the larger bound applies. */
const walletMovementAmountFen = z.number().int().positive().max(Number(walletMovementFenMax)).describe('Amount in fen; at most ¥1,000,000');
const smsCode = z.string().regex(/^[0-9]{6}$/, '6 digits').optional().describe('A code sent with purpose `payment`: the second factor, raising the daily limit to ¥5,000');
const signedStatement = {
  nonce: z.string().min(1).max(64), timestamp: z.string().min(1).max(40).describe('ISO 8601, within 5 minutes of the platform\'s clock'),
  signature: z.string().min(1).max(512).describe('ECDSA P-256 with SHA-256, DER, base64'),
};
/** Money between the holder's own card and balance: the payment password (+ an optional SMS code). */
const passwordVerification = { payment_password: z.string().max(32).describe('The 6-digit payment password'), sms_code: smsCode };
/** The refusals of the fingerprint and certificate factors of `paymentVerification`. */
const signedFactorErrors = [
  errors.fingerprint_payment_off, errors.device_not_ready, errors.device_not_active, errors.biometric_challenge_invalid,
  errors.biometric_statement_stale, errors.biometric_signature_invalid, errors.payment_challenge_invalid, errors.payment_signature_invalid,
  errors.payment_certificate_revoked, errors.payment_certificate_expired,
];
/** A payment to someone else: the password or a fingerprint, optionally a certificate and an SMS code. */
const paymentVerification = {
  payment_password: z.string().max(32).optional().describe('The 6-digit payment password: one factor (the password always remains; `fingerprint` may stand in for it)'),
  fingerprint: z.object({ device_id: z.string().min(1).max(64), ...signedStatement }).optional().describe(
    'One factor instead of the password, on a phone with fingerprint payment on: a nonce from `POST /v1/devices/{id}/challenges`, and the '
    + 'signature of the lines `mipay-payment-v1`, device id, nonce, timestamp, `fingerprint_verified`, amount in fen, payee (`mi:<Mi account '
    + 'number>` or `order:<order id>`), joined with `\\n`, by the device key after a fingerprint check'),
  certificate: z.object({ certificate_id: z.string().min(1).max(64).describe('The payment certificate\'s id (pcert_…)'), ...signedStatement }).optional().describe(
    'A payment certificate\'s signature over this payment (`POST /v1/payment-certificates/{id}/challenges` says what is signed); with one more '
    + 'factor the certificate\'s agreed daily limit applies'),
  sms_code: smsCode,
};

function toVerification(b: { payment_password?: string | undefined; sms_code?: string | undefined; fingerprint?: { device_id: string; nonce: string; timestamp: string; signature: string } | undefined; certificate?: { certificate_id: string; nonce: string; timestamp: string; signature: string } | undefined }): Verification {
  return {
    paymentPassword: b.payment_password, smsCode: b.sms_code,
    fingerprint: b.fingerprint && { deviceId: b.fingerprint.device_id, nonce: b.fingerprint.nonce, timestamp: b.fingerprint.timestamp, signature: b.fingerprint.signature },
    certificate: b.certificate && {
      certificateId: b.certificate.certificate_id, nonce: b.certificate.nonce, timestamp: b.certificate.timestamp, signature: b.certificate.signature,
    },
  };
}

const cardMovementBody = z.object({ card_id: z.string().min(1).max(64), amount_fen: walletMovementAmountFen, ...passwordVerification });

export const transactionSchema = z.object({
  id: z.string(),
  type: z.enum(['top_up', 'withdrawal', 'transfer', 'payment', 'refund', 'reversal', 'preauthorization', 'completion'])
    .describe('`reversal`, `preauthorization` and `completion` are device-card transactions only'),
  status: z.enum(['pending', 'succeeded', 'failed']),
  direction: z.enum(['in', 'out', 'internal']).describe('Relative to the caller'),
  amount_fen: z.number(),
  currency: z.string(),
  channel: z.enum(['balance', 'quick_pay', 'device_card']).describe('`device_card`: a tap of a device card at a POS, as the TSP notified it'),
  funding_source: z.enum(['balance', 'bank_card', 'merchant', 'device_card']).describe(
    'Where the money came from: the payer\'s balance, a bound card (quick pay), a merchant (a refund), or a device card\'s bank card (a tap)'),
  card_id: z.string().nullable().describe('The bound card that funded (or, for a withdrawal or a card refund, received) the money'),
  interface_type: z.string(),
  payer: z.object({ name: z.string(), account: z.string() }),
  payee: z.object({ name: z.string(), account: z.string() }),
  merchant: z.object({ name: z.string(), code: z.string().describe('The merchant\'s code'), mcc: z.string() }).nullable(),
  order_id: z.string().nullable(),
  refund_of: z.string().nullable(),
  authorization: z.object({ method: z.string(), factors: z.number(), reference: z.string().nullable() }),
  purpose: z.string().nullable(),
  reason: z.string().nullable(),
  failure_code: z.string().nullable(),
  trace_id: z.string(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  device_card: z.object({
    id: z.string().describe('The device card (dc_…)'),
    token_last4: z.string().describe('The last 4 digits of the device card number (what the POS receipt shows)'),
    bank_name: z.string().describe('The bank of the card behind the device card'),
    terminal_id: z.string().describe('The POS terminal (field 41)'),
    stan: z.string().describe('The terminal\'s trace number (field 11)'),
    rrn: z.string().describe('The network\'s retrieval reference number (field 37)'),
    response_code: z.string().describe('The network\'s answer (field 39): `00` approved, anything else declined'),
    decline_reason: z.string().nullable().describe('Why it was declined (field 44 reason, e.g. `TOKEN_SUSPENDED`), or null'),
  }).nullable().describe('For a device-card transaction: the card and the network\'s answer; null otherwise'),
});

const deviceCardTypes = { purchase: 'payment', refund: 'refund', reversal: 'reversal', preauth: 'preauthorization', completion: 'completion' } as const;

/** A device-card transaction as the history shows it: the merchant is the payee of a tap and the payer of its refund. */
export function deviceCardTransactionToWire(t: DeviceCardTransaction): z.infer<typeof transactionSchema> {
  const card = { name: `${t.bank_name} device card`, account: `****${t.token_last4}` };
  const merchant = { name: t.merchant_name, account: t.merchant_id };
  const moneyBack = t.kind === 'refund' || t.kind === 'reversal';
  const at = t.occurred_at.toISOString();
  return {
    id: t.id, type: deviceCardTypes[t.kind], status: t.outcome === 'approved' ? 'succeeded' : 'failed', direction: moneyBack ? 'in' : 'out',
    amount_fen: Number(t.amount_fen), currency: 'CNY', channel: 'device_card', funding_source: moneyBack ? 'merchant' : 'device_card', card_id: null,
    interface_type: 'nfc_pos', payer: moneyBack ? merchant : card, payee: moneyBack ? card : merchant,
    merchant: { name: t.merchant_name, code: t.merchant_id, mcc: t.mcc }, order_id: null, refund_of: t.refund_of,
    // The cardholder verification (CDCVM or PIN) happened on the phone and at the issuer: the platform counted no factor.
    authorization: { method: 'device_card', factors: 0, reference: t.rrn },
    purpose: null, reason: null, failure_code: t.outcome === 'declined' ? t.response_code : null, trace_id: t.rrn,
    created_at: at, completed_at: at,
    device_card: {
      id: t.device_card_id, token_last4: t.token_last4, bank_name: t.bank_name, terminal_id: t.terminal_id, stan: t.stan, rrn: t.rrn,
      response_code: t.response_code, decline_reason: t.decline_reason,
    },
  };
}

export function historyEntryToWire(entry: HistoryEntry, viewerUserId: string): z.infer<typeof transactionSchema> {
  return entry.source === 'payment' ? transactionToWire(entry.row, viewerUserId) : deviceCardTransactionToWire(entry.row);
}

export function transactionToWire(t: Transaction, viewerUserId: string | null): z.infer<typeof transactionSchema> {
  const direction = t.payer_user_id === viewerUserId && t.payee_user_id === viewerUserId ? 'internal' : t.payee_user_id === viewerUserId ? 'in' : 'out';
  return {
    id: t.id, type: t.type, status: t.status, direction, amount_fen: Number(t.amount_fen), currency: t.currency, channel: t.channel,
    funding_source: t.type === 'refund' ? 'merchant' : t.type === 'top_up' || (t.card_id && t.type !== 'withdrawal') ? 'bank_card' : 'balance',
    card_id: t.card_id, interface_type: t.interface_type, payer: { name: t.payer_name, account: t.payer_account }, payee: { name: t.payee_name, account: t.payee_account },
    merchant: t.merchant_name && t.merchant_code && t.mcc ? { name: t.merchant_name, code: t.merchant_code, mcc: t.mcc } : null,
    order_id: t.order_id, refund_of: t.refund_of,
    authorization: { method: t.authorization_method, factors: t.verification_factors, reference: t.authorization_reference },
    purpose: t.purpose, reason: t.reason, failure_code: t.failure_code, trace_id: t.trace_id,
    created_at: t.created_at.toISOString(), completed_at: t.completed_at?.toISOString() ?? null, device_card: null,
  };
}

export interface PaymentRouteDeps {
  accounts: AccountService;
  merchants: MerchantService;
  idempotency: Idempotency;
  wallet: WalletPayments;
  orders: OrderPayments;
  history: TransactionHistory;
  payees: PayeeDirectory;
  paymentAccounts: PaymentAccountService;
}

export function registerPaymentRoutes(app: App, deps: PaymentRouteDeps): void {
  const session = requireSession(deps.accounts);
  const moneyMoving = [session, deps.idempotency.preHandler];
  const security = [{ session: [] }];
  const tags = ['payments'];
  // Documented here, enforced by the idempotency preHandler (whose error names the header as clients write it).
  const idempotencyHeader = z.object({ 'idempotency-key': z.string().optional().describe('Required. Unique per operation (e.g. a UUID); a retry with the same key and body gets the same answer') });
  const context = (request: FastifyRequest) => ({ userId: caller(request).user.id, traceId: request.id, risk: riskContextOf(request) });

  app.get('/v1/balance', {
    preHandler: session,
    schema: { security, tags, summary: 'The payment account balance',
      description: '`available_fen` can be spent; `pending_out_fen` is held by payments the bank has not settled yet.',
      errors: [errors.payment_account_not_found], response: { 200: z.object({ available_fen: z.number(), pending_out_fen: z.number(), currency: z.literal('CNY') }) } },
  }, async (request) => {
    const balance = await deps.wallet.balance(caller(request).user.id);
    return { available_fen: Number(balance.availableFen), pending_out_fen: Number(balance.pendingOutFen), currency: 'CNY' as const };
  });

  app.post('/v1/top-ups', {
    preHandler: moneyMoving,
    schema: {
      security, tags, headers: idempotencyHeader, summary: 'Top up the balance from a bound card',
      description: 'The bank debits the bound card into the platform\'s settlement account, then the ledger credits the '
        + 'balance. Not a balance payment: the class and daily limits do not apply. When the bank does not answer '
        + 'the transaction is `pending` (202) and settles when it does.',
      errors: [...idempotencyErrors, ...paymentVerificationErrors, errors.not_found, errors.card_declined,
        errors.bank_unavailable, ...riskErrors],
      body: cardMovementBody,
      response: { 201: transactionSchema, 202: transactionSchema.describe('The bank has not answered yet: the transaction is pending and settles when it does') },
    },
  }, async (request, reply) => {
    const b = request.body;
    const txn = await deps.wallet.topUp(context(request), { cardId: b.card_id, amountFen: BigInt(b.amount_fen), verification: { paymentPassword: b.payment_password, smsCode: b.sms_code } });
    void reply.code(txn.status === 'pending' ? 202 : 201);
    return transactionToWire(txn, caller(request).user.id);
  });

  app.post('/v1/withdrawals', {
    preHandler: moneyMoving,
    schema: {
      security, tags, headers: idempotencyHeader, summary: 'Withdraw from the balance to a bound card (not counted towards the limits)',
      description: 'A ledger hold on the balance, the bank credits the bound card, the hold posts (or is voided when the '
        + 'bank refuses). To the holder\'s own card, so not counted towards the limits.',
      errors: [...idempotencyErrors, ...paymentVerificationErrors, errors.not_found, errors.insufficient_balance,
        errors.card_declined, errors.bank_unavailable, ...riskErrors],
      body: cardMovementBody,
      response: { 201: transactionSchema, 202: transactionSchema },
    },
  }, async (request, reply) => {
    const b = request.body;
    const txn = await deps.wallet.withdraw(context(request), { cardId: b.card_id, amountFen: BigInt(b.amount_fen), verification: { paymentPassword: b.payment_password, smsCode: b.sms_code } });
    void reply.code(txn.status === 'pending' ? 202 : 201);
    return transactionToWire(txn, caller(request).user.id);
  });

  app.post('/v1/payee-lookups', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Look up a transfer payee by Mi account number or phone: the masked real name to confirm, and a confirmation',
      description: 'Needs an active payment account. The answer shows the payee\'s masked real name (`*三`); the transfer carries `confirmation` '
        + '(single use, valid 5 minutes). At most 30 look-ups an hour per account, found or not (429 `rate_limited`).',
      errors: [errors.payment_account_not_found, errors.payee_not_found, errors.payee_is_payer, errors.rate_limited],
      body: z.object({
        mi_number: z.string().regex(miNumberPattern, '10 digits').optional().describe('The payee\'s Mi account number (小米账号)'),
        phone: mobilePhone.optional().describe('Or the payee\'s phone number'),
      }).refine((b) => (b.mi_number === undefined) !== (b.phone === undefined), { message: 'give exactly one of mi_number and phone', path: ['mi_number'] }),
      response: {
        201: z.object({
          confirmation: z.string().describe('Carry it as `payee_confirmation` in `POST /v1/transfers`'),
          payee: z.object({
            name: z.string().describe('The masked real name, e.g. *三'), account: z.string(),
            mi_number: z.string().describe('The payee\'s public Mi account number: what a fingerprint or certificate statement binds (`mi:<number>`)'),
          }),
          expires_at: z.string(),
        }),
      },
    },
  }, async (request, reply) => {
    const userId = caller(request).user.id;
    const payer = await deps.paymentAccounts.requireByUser(userId);
    if (payer.status !== 'active') throw errors.payment_account_not_found(`The payment account is ${payer.status}.`);
    const b = request.body;
    const found = await deps.payees.lookUp(userId, b.mi_number !== undefined ? { miNumber: b.mi_number } : { phone: b.phone! });
    void reply.code(201);
    return {
      confirmation: found.id, payee: { name: found.maskedName, account: walletLabel(found.payeePhone), mi_number: found.payeeMiNumber },
      expires_at: found.expiresAt.toISOString(),
    };
  });

  app.post('/v1/transfers', {
    preHandler: moneyMoving,
    schema: {
      security, tags, headers: idempotencyHeader,
      summary: 'Transfer to another Mi account confirmed by `POST /v1/payee-lookups`, from the balance or funded by a bound card',
      description: 'From the balance (no `card_id`) it is a balance payment, counted towards the class and daily limits. With `card_id` the bank '
        + 'debits the card into the platform\'s settlement account under its own quick-pay limits (single and daily, per card; a refusal names '
        + 'the limit) and the ledger credits the payee.',
      errors: [...idempotencyErrors, ...paymentVerificationErrors, ...signedFactorErrors, errors.payee_confirmation_invalid,
        errors.payee_is_payer,
        errors.insufficient_balance, errors.limit_exceeded, errors.not_found, errors.card_declined, errors.bank_unavailable, ...riskErrors],
      body: z.object({
        payee_confirmation: z.string().min(1).max(64).describe('From `POST /v1/payee-lookups`, once the payer confirmed the masked name'),
        amount_fen: amountFen, card_id: z.string().min(1).max(64).optional().describe('Fund the transfer from this bound card'),
        note: z.string().trim().max(64).optional(), ...paymentVerification,
      }),
      response: { 201: transactionSchema, 202: transactionSchema.describe('The bank has not answered yet: the transaction is pending and settles when it does') },
    },
  }, async (request, reply) => {
    const b = request.body;
    const txn = await deps.wallet.transfer(context(request), {
      payeeConfirmation: b.payee_confirmation, amountFen: BigInt(b.amount_fen), note: b.note, cardId: b.card_id, verification: toVerification(b),
    });
    void reply.code(txn.status === 'pending' ? 202 : 201);
    return transactionToWire(txn, caller(request).user.id);
  });

  app.post('/v1/orders/:id/pay', {
    preHandler: moneyMoving,
    schema: {
      security, tags, headers: idempotencyHeader, summary: 'Pay a merchant order with the balance (no card_id) or a bound card',
      description: 'With the balance (counted towards the limits) or a bound card (`card_id`: the bank is debited; the '
        + 'limits do not apply). The merchant is told by an `order.paid` webhook.',
      errorParams: ['order_id'],
      errors: [...idempotencyErrors, ...paymentVerificationErrors, ...signedFactorErrors, errors.not_found, errors.order_not_payable,
        errors.insufficient_balance, errors.limit_exceeded, errors.card_declined, errors.bank_unavailable, ...riskErrors],
      params: z.object({ id: z.string().min(1).max(64) }),
      body: z.object({ card_id: z.string().min(1).max(64).optional(), ...paymentVerification }),
      response: { 201: z.object({ order: orderSchema, transaction: transactionSchema }), 202: z.object({ order: orderSchema, transaction: transactionSchema }) },
    },
  }, async (request, reply) => {
    const b = request.body;
    const { order, transaction } = await deps.orders.pay(context(request), {
      orderId: request.params.id, source: b.card_id ? { kind: 'card', cardId: b.card_id } : { kind: 'balance' },
      verification: toVerification(b),
    });
    void reply.code(transaction.status === 'pending' ? 202 : 201);
    return { order: orderToWire(order), transaction: transactionToWire(transaction, caller(request).user.id) };
  });

  app.post('/v1/merchant/orders/:id/refunds', {
    preHandler: [requireMerchant(deps.merchants), deps.idempotency.preHandler],
    schema: {
      security: [{ merchant: [] }], tags: ['merchants'], headers: idempotencyHeader, summary: 'Refund all or part of a paid order, to where the money came from',
        description: 'All or part of what was paid, back to where it came from (the balance, or the card through its bank), '
          + 'at most the amount paid in all. The merchant\'s balance must cover it.',
        errors: [...idempotencyErrors, errors.not_found, errors.order_not_payable, errors.refund_exceeds_payment,
          errors.merchant_balance_insufficient, errors.card_declined, errors.bank_unavailable],
      params: z.object({ id: z.string().min(1).max(64) }),
      body: z.object({ amount_fen: amountFen, reason: z.string().trim().min(1).max(128) }),
      response: { 201: z.object({ order: orderSchema, transaction: transactionSchema }), 202: z.object({ order: orderSchema, transaction: transactionSchema }) },
    },
  }, async (request, reply) => {
    const { order, transaction } = await deps.orders.refund({ merchantId: callingMerchant(request).id, traceId: request.id }, {
      orderId: request.params.id, amountFen: BigInt(request.body.amount_fen), reason: request.body.reason,
    });
    void reply.code(transaction.status === 'pending' ? 202 : 201);
    return { order: orderToWire(order), transaction: transactionToWire(transaction, null) };
  });

  app.get('/v1/transactions', {
    preHandler: session,
    schema: {
      security, tags, summary: 'The account\'s transactions, newest first, by cursor',
      description: 'Cursor pagination: pass the last `id` of a page as `starting_after` for the next while `has_more` is '
        + 'true.',
      errors: [errors.not_found],
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(20), starting_after: z.string().max(64).optional(),
        device_card_id: z.string().max(64).optional().describe('Only this device card\'s transactions (taps, refunds, …)'),
      }),
      response: { 200: z.object({ data: z.array(transactionSchema), has_more: z.boolean() }) },
    },
  }, async (request) => {
    const userId = caller(request).user.id;
    const page = await deps.history.page(userId, {
      limit: request.query.limit, startingAfter: request.query.starting_after, deviceCardId: request.query.device_card_id,
    });
    return { data: page.data.map((t) => historyEntryToWire(t, userId)), has_more: page.hasMore };
  });

  app.get('/v1/transactions.csv', {
    preHandler: session,
    schema: {
      security, tags, summary: 'The account\'s transactions as CSV (UTF-8 with BOM, newest first, at most 10,000 rows)',
      description: '`from` and `to` are Beijing-time dates, both included. Money in yuan with two decimals; accounts masked '
        + 'as in the JSON.',
      errors: [],
      querystring: z.object({ from: z.iso.date().optional(), to: z.iso.date().optional() }),
    },
  }, async (request, reply) => {
    const userId = caller(request).user.id;
    const rows = await deps.history.export(userId, { from: request.query.from, to: request.query.to });
    void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="mipay-transactions.csv"');
    return transactionsToCsv(rows.map((t) => historyEntryToWire(t, userId)));
  });

  app.get('/v1/transactions/:id', {
    preHandler: session,
    schema: { security, tags, summary: 'One transaction',
      description: 'One transaction of the account (as payer or payee) by its id (`txn_…`).',
      errors: [errors.not_found], params: z.object({ id: z.string().min(1).max(64) }), response: { 200: transactionSchema } },
  }, async (request) => {
    const userId = caller(request).user.id;
    return historyEntryToWire(await deps.history.get(userId, request.params.id), userId);
  });
}
