import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';
import { withUniqueMerchantCode } from './merchant-code.ts';
import { checkDestination, ForbiddenDestinationError, type DestinationPolicy } from '../webhooks/destination.ts';

export type Merchant = PlatformTables['merchants'];
export type Order = PlatformTables['orders'];

export const orderLimits = { expiresInSDefault: 900, expiresInSMax: 86_400, amountFenMax: 100_000_000n } as const;

/** Merchants one Mi account may onboard. */
export const merchantsPerOwnerMax = 5;

function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** Merchants of the platform: API keys, webhook endpoints, and the orders their customers pay. */
export class MerchantService {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;
  readonly #destinations: DestinationPolicy;

  constructor(db: Kysely<PlatformTables>, clock: () => Date, destinations: DestinationPolicy = { allowLoopback: false }) {
    this.#db = db;
    this.#clock = clock;
    this.#destinations = destinations;
  }

  /**
   * Onboarding: by a signed-in Mi account (`ownerUserId`, at most `merchantsPerOwnerMax`), or a
   * sandbox test merchant. The API key and webhook secret are shown once, here, and stored only
   * as a hash / secret.
   */
  async create(input: { name: string; mcc: string; webhookUrl?: string | undefined; ownerUserId?: string }): Promise<{ merchant: Merchant; apiKey: string }> {
    if (input.webhookUrl) await this.#checkWebhookUrl(input.webhookUrl);
    if (input.ownerUserId) {
      const owned = await this.#db.selectFrom('merchants').select((eb) => eb.fn.countAll<string>().as('n')).where('owner_user_id', '=', input.ownerUserId).executeTakeFirstOrThrow();
      if (Number(owned.n) >= merchantsPerOwnerMax) throw errors.merchants_limit(`One Mi account onboards at most ${merchantsPerOwnerMax} merchants.`);
    }
    const apiKey = `sk_${randomBytes(24).toString('base64url')}`;
    const merchant = await withUniqueMerchantCode(this.#db, input.mcc, async (code) => {
      const row: Merchant = {
        id: newId('mch'), name: input.name, code, mcc: input.mcc,
        api_key_hash: hashApiKey(apiKey), api_key_last4: apiKey.slice(-4), webhook_url: input.webhookUrl ?? null,
        webhook_secret: `whsec_${randomBytes(24).toString('base64url')}`, created_at: this.#clock(),
        owner_user_id: input.ownerUserId ?? null,
      };
      await this.#db.insertInto('merchants').values(row).execute();
      return row;
    });
    return { merchant, apiKey };
  }

  /** A destination that is, or resolves to, a non-public address is refused (and checked again at each delivery). */
  async #checkWebhookUrl(url: string, param = 'webhook_url'): Promise<void> {
    try {
      await checkDestination(url, this.#destinations);
    } catch (error) {
      if (error instanceof ForbiddenDestinationError) throw errors.webhook_url_forbidden(`The webhook URL is refused: ${error.message}.`, param);
      throw error;
    }
  }

  async authenticate(apiKey: string): Promise<Merchant | undefined> {
    return this.#db.selectFrom('merchants').selectAll().where('api_key_hash', '=', hashApiKey(apiKey)).executeTakeFirst();
  }

  async setWebhookUrl(merchantId: string, url: string | null): Promise<Merchant> {
    if (url) await this.#checkWebhookUrl(url, 'url');
    return this.#db.updateTable('merchants').set({ webhook_url: url }).where('id', '=', merchantId).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * Creates an order, once per merchant order number: the same number with the same amount and
   * description answers the existing order, with anything else it is refused.
   */
  async createOrder(merchantId: string, input: { outTradeNo: string; amountFen: bigint; description: string; expiresInS?: number | undefined }): Promise<{ order: Order; created: boolean }> {
    if (input.amountFen <= 0n || input.amountFen > orderLimits.amountFenMax) {
      throw errors.parameter_invalid(`amount_fen must be between 1 and ${orderLimits.amountFenMax}.`, 'amount_fen');
    }
    const now = this.#clock();
    const order: Order = {
      id: newId('ord'), merchant_id: merchantId, out_trade_no: input.outTradeNo, amount_fen: input.amountFen, refunded_fen: 0n,
      description: input.description, status: 'open', payer_user_id: null, transaction_id: null,
      expires_at: new Date(now.getTime() + (input.expiresInS ?? orderLimits.expiresInSDefault) * 1000), paid_at: null, created_at: now,
    };
    const inserted = await this.#db.insertInto('orders').values(order)
      .onConflict((oc) => oc.constraint('orders_out_trade_no_unique').doNothing()).returningAll().executeTakeFirst();
    if (inserted) return { order: inserted, created: true };
    const existing = await this.#db.selectFrom('orders').selectAll().where('merchant_id', '=', merchantId).where('out_trade_no', '=', input.outTradeNo).executeTakeFirstOrThrow();
    if (existing.amount_fen !== input.amountFen || existing.description !== input.description) {
      throw errors.order_conflict('An order with this out_trade_no already exists with another amount or description.', 'out_trade_no');
    }
    return { order: await this.#expireIfDue(existing), created: false };
  }

  async getOrderForMerchant(merchantId: string, orderId: string): Promise<Order> {
    const order = await this.#db.selectFrom('orders').selectAll().where('id', '=', orderId).where('merchant_id', '=', merchantId).executeTakeFirst();
    if (!order) throw errors.not_found('No order with this id for this merchant.', 'id');
    return this.#expireIfDue(order);
  }

  /** What a paying user sees of an order: anyone holding its id may look at it (it is a payment request). */
  async getOrder(orderId: string): Promise<{ order: Order; merchant: Merchant }> {
    const order = await this.#db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
    if (!order) throw errors.not_found('No order with this id.', 'id');
    const merchant = await this.#db.selectFrom('merchants').selectAll().where('id', '=', order.merchant_id).executeTakeFirstOrThrow();
    return { order: await this.#expireIfDue(order), merchant };
  }

  async #expireIfDue(order: Order): Promise<Order> {
    if (order.status !== 'open' || order.expires_at.getTime() > this.#clock().getTime()) return order;
    const expired = await this.#db.updateTable('orders').set({ status: 'expired' }).where('id', '=', order.id).where('status', '=', 'open')
      .returningAll().executeTakeFirst();
    return expired ?? (await this.#db.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow());
  }

  async listEvents(merchantId: string, limit: number): Promise<PlatformTables['webhook_events'][]> {
    return this.#db.selectFrom('webhook_events').selectAll().where('merchant_id', '=', merchantId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }
}
