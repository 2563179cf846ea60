// The wallet server's transit domain (DESIGN section 3, transit): issue a card onto a device,
// top it up, its history. Money goes through the payment machinery as an order paid to the
// brand's operator (a merchant of the platform): fee and deposit at issue — refunded when the
// operator fails to issue — and each top-up. A paid top-up ends on the card, never anywhere
// else: the operator signs it for the card's counter, a tear is resolved by the card's own
// proof (GET TRANSACTION PROVE), and a second signature for a moved counter is refused.
import { type Kysely } from 'kysely';
import { ApiError } from '../../infra/http/errors.ts';
import { newId } from '../../infra/ids.ts';
import { TransitError, type BrandWire, type IssuedCard, type SettledRecord, type SignedLoad, type TransitOperatorClient } from '../../transit/client.ts';
import type { DeviceService } from '../devices/service.ts';
import { errors } from '../errors.ts';
import type { MerchantService } from '../merchants/service.ts';
import type { OrderPayments } from '../payments/orders.ts';
import type { PaymentContext, Verification } from '../payments/service.ts';
import type { PlatformTables } from '../tables.ts';

export type TransitCard = PlatformTables['transit_cards'];
export type TransitLoad = PlatformTables['transit_loads'];
export type PaySource = { kind: 'balance' } | { kind: 'card'; cardId: string };

/** The operator's refusal as a platform error. */
function operatorRefusal(error: unknown): Error {
  if (!(error instanceof TransitError)) return error as Error;
  switch (error.code) {
    case 'brand_unknown': return errors.transit_brand_unknown(error.message, 'brand');
    case 'brand_retired': return errors.transit_brand_retired(error.message, 'brand', error.details);
    case 'card_closed': return errors.transit_card_not_active(error.message, 'card_id');
    case 'load_out_of_limits': return errors.transit_top_up_out_of_limits(error.message, 'amount_fen');
    case 'load_counter_moved': return errors.transit_load_state(error.message, 'top_up_id');
    case 'load_mac_invalid': case 'load_tac_invalid': case 'card_blocked': return errors.transit_load_refused(error.message);
    case 'unavailable': return errors.transit_operator_unavailable(error.message);
    default: return errors.transit_load_refused(error.message);
  }
}

/**
 * An order payment's refusal in the words of the transit request that made it: the bound card is
 * the caller's `source.card_id`, and the order (made by the platform) is no field of theirs.
 */
function asTransitPayment(error: unknown, amountParam: string): unknown {
  if (!(error instanceof ApiError) || error.param === undefined) return error;
  const params: Record<string, string> = { card_id: 'source.card_id', order_id: 'source', amount_fen: amountParam };
  const param = params[error.param];
  if (param === undefined || param === error.param) return error;
  const renamed = new ApiError(error.code, { status: error.status, type: error.type, raisedWhen: '' }, error.message, param, error.details);
  renamed.messageZh = error.messageZh;
  return renamed;
}

export class TransitService {
  readonly #db: Kysely<PlatformTables>;
  readonly #operator: TransitOperatorClient;
  readonly #devices: DeviceService;
  readonly #merchants: MerchantService;
  readonly #orders: OrderPayments;
  readonly #clock: () => Date;
  #brands: { at: number; list: BrandWire[] } | undefined;

  constructor(deps: { db: Kysely<PlatformTables>; operator: TransitOperatorClient; devices: DeviceService; merchants: MerchantService; orders: OrderPayments; clock: () => Date }) {
    this.#db = deps.db;
    this.#operator = deps.operator;
    this.#devices = deps.devices;
    this.#merchants = deps.merchants;
    this.#orders = deps.orders;
    this.#clock = deps.clock;
  }

  /** Brands, as the operators publish them (cached a minute). */
  async brands(): Promise<BrandWire[]> {
    const now = this.#clock().getTime();
    if (!this.#brands || now - this.#brands.at > 60_000) {
      try {
        this.#brands = { at: now, list: await this.#operator.brands() };
      } catch (error) {
        throw operatorRefusal(error);
      }
    }
    return this.#brands.list;
  }

  async #brand(code: string): Promise<BrandWire> {
    const brand = (await this.brands()).find((b) => b.code === code);
    if (!brand) throw errors.transit_brand_unknown(`No transit brand ${code}; see GET /v1/transit/brands.`, 'brand');
    return brand;
  }

  /** The operator's merchant on the platform, made the first time its brand is paid. */
  async #merchantOf(brand: BrandWire): Promise<string> {
    const known = await this.#db.selectFrom('transit_operator_merchants').select('merchant_id').where('brand_code', '=', brand.code).executeTakeFirst();
    if (known) return known.merchant_id;
    const { merchant } = await this.#merchants.create({ name: `${brand.name} operator`, mcc: '4111' });
    await this.#db.insertInto('transit_operator_merchants').values({ brand_code: brand.code, merchant_id: merchant.id })
      .onConflict((c) => c.column('brand_code').doNothing()).execute();
    const row = await this.#db.selectFrom('transit_operator_merchants').select('merchant_id').where('brand_code', '=', brand.code).executeTakeFirstOrThrow();
    return row.merchant_id;
  }

  /** Pays the operator: an order in its name, paid from the balance or a bound card. */
  async #pay(context: PaymentContext, brand: BrandWire, input: {
    outTradeNo: string; amountFen: bigint; description: string; source: PaySource; verification: Verification;
    /** The request field that set the amount (a top-up's `amount_fen`; the brand's fee for an issue). */
    amountParam: string;
  }) {
    const merchantId = await this.#merchantOf(brand);
    const { order } = await this.#merchants.createOrder(merchantId, { outTradeNo: input.outTradeNo, amountFen: input.amountFen, description: input.description });
    let paid: Awaited<ReturnType<OrderPayments['pay']>>;
    try {
      paid = await this.#orders.pay(context, { orderId: order.id, source: input.source, verification: input.verification });
    } catch (error) {
      throw asTransitPayment(error, input.amountParam);
    }
    if (paid.transaction.status !== 'succeeded') {
      throw errors.bank_unavailable('The bank has not confirmed the card payment yet; try again when it has.', 'source', { transaction_id: paid.transaction.id });
    }
    return { merchantId, orderId: order.id };
  }

  async #card(userId: string, cardId: string): Promise<TransitCard> {
    const card = await this.#db.selectFrom('transit_cards').selectAll().where('id', '=', cardId).where('user_id', '=', userId).executeTakeFirst();
    if (!card) throw errors.not_found(`No transit card ${cardId}.`, 'card_id');
    return card;
  }

  async list(userId: string): Promise<TransitCard[]> {
    return this.#db.selectFrom('transit_cards').selectAll().where('user_id', '=', userId).where('status', '=', 'active').orderBy('created_at').execute();
  }

  /**
   * Issues a card of `brandCode` onto the caller's device: refused for a retired brand (naming
   * its replacement), for a second T-Union card or a second card of one brand on the device;
   * the fee and deposit are paid to the operator first and refunded if it fails to issue.
   */
  async issue(context: PaymentContext, input: { deviceId: string; brandCode: string; source: PaySource; verification: Verification }): Promise<{ card: TransitCard; brand: BrandWire; issued: IssuedCard }> {
    const brand = await this.#brand(input.brandCode);
    if (brand.status === 'retired') {
      const instead = brand.replacement?.note ?? 'another brand';
      throw errors.transit_brand_retired(`${brand.name} is retired and no longer issued; use ${instead}.`, 'brand', { replacement: brand.replacement });
    }
    const device = await this.#devices.get(context.userId, input.deviceId);
    if (device.status !== 'active') throw errors.device_not_active(`The device is ${device.status}.`, 'device_id');
    const live = await this.#db.selectFrom('transit_cards').select(['brand_code', 'brand_kind']).where('device_id', '=', device.id)
      .where('status', 'in', ['issuing', 'active']).execute();
    const tunion = live.find((c) => c.brand_kind === 'tunion');
    if (brand.kind === 'tunion' && tunion) {
      const name = (await this.brands()).find((b) => b.code === tunion.brand_code)?.name ?? tunion.brand_code;
      throw errors.transit_tunion_present(`This device already carries a T-Union card (${name}); a device holds at most one.`, 'brand');
    }
    if (live.some((c) => c.brand_code === brand.code)) throw errors.transit_brand_present(`This device already carries a ${brand.name} card.`, 'brand');
    const card: TransitCard = {
      id: newId('tc'), user_id: context.userId, device_id: device.id, brand_code: brand.code, brand_kind: brand.kind, card_number: null,
      status: 'issuing', issue_order_id: null, auto_top_up_below_fen: null, auto_top_up_amount_fen: null, low_balance_alert_fen: null, created_at: this.#clock(),
    };
    try {
      await this.#db.insertInto('transit_cards').values(card).execute();
    } catch {
      // The partial unique indexes: a concurrent issue onto the same device won the race.
      throw errors.transit_brand_present('Another card is being issued onto this device for this brand or T-Union.', 'brand');
    }
    const feeFen = brand.issueFeeFen + brand.depositFen;
    let paid: { merchantId: string; orderId: string } | undefined;
    try {
      if (feeFen > 0n) {
        paid = await this.#pay(context, brand, { outTradeNo: `${card.id}:issue`, amountFen: feeFen, description: `${brand.name} card fee and deposit`, source: input.source, verification: input.verification, amountParam: 'brand' });
      }
      const issued = await this.#operator.issueCard({ brandCode: brand.code, requestId: card.id });
      const active = await this.#db.updateTable('transit_cards').set({ status: 'active', card_number: issued.cardNumber, issue_order_id: paid?.orderId ?? null })
        .where('id', '=', card.id).returningAll().executeTakeFirstOrThrow();
      return { card: active, brand, issued };
    } catch (error) {
      await this.#db.updateTable('transit_cards').set({ status: 'failed' }).where('id', '=', card.id).execute();
      if (paid) await this.#orders.refund({ merchantId: paid.merchantId, traceId: context.traceId }, { orderId: paid.orderId, amountFen: feeFen, reason: 'transit card issuance failed' });
      throw operatorRefusal(error);
    }
  }

  /** Step 1 of a top-up: the money is taken (an order paid to the operator). The phone then loads online. */
  async startTopUp(context: PaymentContext, input: { cardId: string; amountFen: bigint; source: PaySource; verification: Verification }): Promise<TransitLoad> {
    const card = await this.#card(context.userId, input.cardId);
    if (card.status !== 'active') throw errors.transit_card_not_active(`The transit card is ${card.status}.`, 'card_id');
    const brand = await this.#brand(card.brand_code);
    if (input.amountFen < brand.topUpMinFen || input.amountFen > brand.topUpMaxFen) {
      throw errors.transit_top_up_out_of_limits(`A ${brand.name} top-up is between ${brand.topUpMinFen} and ${brand.topUpMaxFen} fen.`, 'amount_fen');
    }
    const id = newId('tl');
    const { orderId } = await this.#pay(context, brand, { outTradeNo: `${id}:load`, amountFen: input.amountFen, description: `${brand.name} top-up`, source: input.source, verification: input.verification, amountParam: 'amount_fen' });
    const load: TransitLoad = { id, card_id: card.id, user_id: context.userId, amount_fen: input.amountFen, order_id: orderId, status: 'paid', online_seq: null, created_at: this.#clock(), loaded_at: null };
    await this.#db.insertInto('transit_loads').values(load).execute();
    return load;
  }

  async #load(userId: string, loadId: string): Promise<{ load: TransitLoad; card: TransitCard }> {
    const load = await this.#db.selectFrom('transit_loads').selectAll().where('id', '=', loadId).where('user_id', '=', userId).executeTakeFirst();
    if (!load) throw errors.not_found(`No top-up ${loadId}.`, 'top_up_id');
    return { load, card: await this.#card(userId, load.card_id) };
  }

  /**
   * Step 2: the card's INITIALIZE FOR LOAD answer goes to the operator, which verifies MAC1 and
   * signs MAC2. The card number and amount are the platform's, not the phone's. A top-up the
   * operator refuses before it ever signed is refunded.
   */
  async signTopUp(context: PaymentContext, input: { loadId: string; balanceFen: bigint; onlineSeq: number; random: string; mac1: string; terminalId: string }): Promise<SignedLoad & { load: TransitLoad }> {
    const { load, card } = await this.#load(context.userId, input.loadId);
    if (load.status !== 'paid' && load.status !== 'signed') throw errors.transit_load_state(`The top-up is ${load.status}.`, 'top_up_id');
    let signed: SignedLoad;
    try {
      signed = await this.#operator.signLoad({
        loadId: load.id, cardNumber: card.card_number!, amountFen: load.amount_fen, balanceFen: input.balanceFen, onlineSeq: input.onlineSeq,
        random: input.random, mac1: input.mac1, terminalId: input.terminalId,
      });
    } catch (error) {
      const refusal = operatorRefusal(error);
      if (load.status === 'paid' && error instanceof TransitError && ['load_out_of_limits', 'card_blocked', 'card_closed'].includes(error.code)) {
        await this.#refundLoad(context, card, load, refusal.message);
      }
      throw refusal;
    }
    const updated = await this.#db.updateTable('transit_loads').set({ status: 'signed', online_seq: input.onlineSeq })
      .where('id', '=', load.id).where('status', 'in', ['paid', 'signed']).returningAll().executeTakeFirstOrThrow();
    return { ...signed, load: updated };
  }

  async #refundLoad(context: PaymentContext, card: TransitCard, load: TransitLoad, reason: string): Promise<void> {
    const marked = await this.#db.updateTable('transit_loads').set({ status: 'refunded' }).where('id', '=', load.id).where('status', '=', 'paid').executeTakeFirst();
    if (marked.numUpdatedRows === 0n) return;
    const brand = await this.#brand(card.brand_code);
    await this.#orders.refund({ merchantId: await this.#merchantOf(brand), traceId: context.traceId }, { orderId: load.order_id, amountFen: load.amount_fen, reason: reason.slice(0, 100) });
  }

  /** Step 3: the card's TAC after CREDIT FOR LOAD (or from GET TRANSACTION PROVE after a tear): the top-up is on the card. */
  async confirmTopUp(context: PaymentContext, input: { loadId: string; tac: string }): Promise<TransitLoad> {
    const { load } = await this.#load(context.userId, input.loadId);
    if (load.status === 'loaded') return load;
    if (load.status !== 'signed') throw errors.transit_load_state(`The top-up is ${load.status}; only a signed one is confirmed.`, 'top_up_id');
    try {
      await this.#operator.confirmLoad({ loadId: load.id, tac: input.tac });
    } catch (error) {
      throw operatorRefusal(error);
    }
    return this.#db.updateTable('transit_loads').set({ status: 'loaded', loaded_at: this.#clock() }).where('id', '=', load.id).returningAll().executeTakeFirstOrThrow();
  }

  /** Top-ups of the caller not yet on a card: the phone finishes them (recovery after a tear). */
  async unfinishedTopUps(userId: string, cardId: string): Promise<TransitLoad[]> {
    return this.#db.selectFrom('transit_loads').selectAll().where('user_id', '=', userId).where('card_id', '=', cardId)
      .where('status', 'in', ['paid', 'signed']).orderBy('created_at').limit(20).execute();
  }

  /** The operator's settled records of the card (taps uploaded by gates, loads confirmed). */
  async history(userId: string, cardId: string): Promise<SettledRecord[]> {
    const card = await this.#card(userId, cardId);
    if (!card.card_number) return [];
    try {
      return await this.#operator.records(card.card_number);
    } catch (error) {
      throw operatorRefusal(error);
    }
  }

  /** Automatic top-up and the low-balance alert (null turns either off). */
  async settings(userId: string, cardId: string, input: { autoTopUp: { belowFen: bigint; amountFen: bigint } | null; lowBalanceAlertFen: bigint | null }): Promise<TransitCard> {
    const card = await this.#card(userId, cardId);
    const brand = await this.#brand(card.brand_code);
    if (input.autoTopUp && (input.autoTopUp.amountFen < brand.topUpMinFen || input.autoTopUp.amountFen > brand.topUpMaxFen)) {
      throw errors.transit_top_up_out_of_limits(`A ${brand.name} top-up is between ${brand.topUpMinFen} and ${brand.topUpMaxFen} fen.`, 'auto_top_up.amount_fen');
    }
    return this.#db.updateTable('transit_cards').set({
      auto_top_up_below_fen: input.autoTopUp?.belowFen ?? null, auto_top_up_amount_fen: input.autoTopUp?.amountFen ?? null,
      low_balance_alert_fen: input.lowBalanceAlertFen,
    }).where('id', '=', card.id).returningAll().executeTakeFirstOrThrow();
  }
}
