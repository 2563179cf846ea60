// The wallet server's transit domain (DESIGN section 3, transit): issue a card onto a device,
// top it up, its history. Money goes through the payment machinery as an order paid to the
// brand's operator (a merchant of the platform): fee and deposit at issue — refunded when the
// operator fails to issue — and each top-up. A paid top-up ends on the card, never anywhere
// else: the operator signs it for the card's counter, a tear is resolved by the card's own
// proof (GET TRANSACTION PROVE), and a second signature for a moved counter is refused.
import { type Kysely } from 'kysely';
import { ApiError } from '../../infra/http/errors.ts';
import { newId } from '../../infra/ids.ts';
import {
  TransitError, type BrandWire, type CardCloseProof, type IssuedCard, type SettledRecord, type SignedLoad, type TransitOperatorClient,
} from '../../transit/client.ts';
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
    case 'close_proof_invalid': return errors.transit_close_proof_invalid(error.message, 'proof');
    case 'carry_refused': return errors.transit_move_refused(error.message, 'card_id');
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
  readonly #verifyPaymentPassword: (userId: string, password: string) => Promise<void>;
  #brands: { at: number; list: BrandWire[] } | undefined;

  constructor(deps: {
    db: Kysely<PlatformTables>; operator: TransitOperatorClient; devices: DeviceService; merchants: MerchantService; orders: OrderPayments; clock: () => Date;
    verifyPaymentPassword: (userId: string, password: string) => Promise<void>;
  }) {
    this.#verifyPaymentPassword = deps.verifyPaymentPassword;
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

  /** The user's cards in use, returned ones until their refund is made, and moved ones until their balance is on a new card. */
  async list(userId: string): Promise<TransitCard[]> {
    return this.#db.selectFrom('transit_cards as c').selectAll('c').where('c.user_id', '=', userId)
      .where((eb) => eb.or([
        eb('c.status', '=', 'active'),
        eb.and([eb('c.status', '=', 'returned'), eb('c.refunded_at', 'is', null)]),
        eb.and([eb('c.status', '=', 'moved'), eb.not(eb.exists(eb.selectFrom('transit_cards as n').select('n.id')
          .whereRef('n.moved_from', '=', 'c.id').where('n.status', '<>', 'failed')))]),
      ]))
      .orderBy('c.created_at').execute();
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
    const card = await this.#startIssuing(context.userId, input.deviceId, brand, null);
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

  /**
   * A new card row in `issuing` on the caller's active device, refused for a second T-Union card
   * or a second card of the brand on it (the partial unique indexes settle a race).
   */
  async #startIssuing(userId: string, deviceId: string, brand: BrandWire, movedFrom: string | null): Promise<TransitCard> {
    // The request's field at fault when the device has no room: the brand asked for, or (a move) the device.
    const roomParam = movedFrom ? 'device_id' : 'brand';
    const device = await this.#devices.get(userId, deviceId);
    if (device.status !== 'active') throw errors.device_not_active(`The device is ${device.status}.`, 'device_id');
    const live = await this.#db.selectFrom('transit_cards').select(['brand_code', 'brand_kind']).where('device_id', '=', device.id)
      .where('status', 'in', ['issuing', 'active']).execute();
    const tunion = live.find((c) => c.brand_kind === 'tunion');
    if (brand.kind === 'tunion' && tunion) {
      const name = (await this.brands()).find((b) => b.code === tunion.brand_code)?.name ?? tunion.brand_code;
      throw errors.transit_tunion_present(`This device already carries a T-Union card (${name}); a device holds at most one.`, roomParam);
    }
    if (live.some((c) => c.brand_code === brand.code)) throw errors.transit_brand_present(`This device already carries a ${brand.name} card.`, roomParam);
    const card: TransitCard = {
      id: newId('tc'), user_id: userId, device_id: device.id, brand_code: brand.code, brand_kind: brand.kind, card_number: null,
      status: 'issuing', issue_order_id: null, auto_top_up_below_fen: null, auto_top_up_amount_fen: null, low_balance_alert_fen: null, created_at: this.#clock(),
      moved_from: movedFrom, closed_at: null, proven_balance_fen: null, final_after: null, refund_target_fen: null, refunded_at: null,
    };
    try {
      await this.#db.insertInto('transit_cards').values(card).execute();
    } catch {
      // The partial unique indexes: a concurrent issue onto the same device won the race, or the moved card is carried already.
      if (movedFrom) throw errors.transit_move_refused('This card\'s balance is already carried to another card.', 'card_id');
      throw errors.transit_brand_present('Another card is being issued onto this device for this brand or T-Union.', roomParam);
    }
    return card;
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
    const load: TransitLoad = {
      id, card_id: card.id, user_id: context.userId, amount_fen: input.amountFen, order_id: orderId, status: 'paid', online_seq: null,
      created_at: this.#clock(), loaded_at: null, carried_from_card_id: null,
    };
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
    const carriedFrom = load.carried_from_card_id
      ? (await this.#db.selectFrom('transit_cards').select('card_number').where('id', '=', load.carried_from_card_id).executeTakeFirstOrThrow()).card_number!
      : undefined;
    try {
      signed = await this.#operator.signLoad({
        loadId: load.id, cardNumber: card.card_number!, amountFen: load.amount_fen, balanceFen: input.balanceFen, onlineSeq: input.onlineSeq,
        random: input.random, mac1: input.mac1, terminalId: input.terminalId, ...(carriedFrom ? { carriedFrom } : {}),
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
    // A carried balance was paid for on the moved card: it stays to be loaded, or is refunded with a return.
    if (load.order_id === null) return;
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

  /**
   * Moving or returning a card, step 1: the operator's challenge that the card's close proof
   * covers. The card stays active until the proof comes back.
   */
  async closeChallenge(userId: string, cardId: string): Promise<{ challenge: string; cardNumber: string }> {
    const card = await this.#card(userId, cardId);
    if (card.status !== 'active') throw errors.transit_card_not_active(`The transit card is ${card.status}.`, 'card_id');
    try {
      return { ...(await this.#operator.closeChallenge({ cardNumber: card.card_number! })), cardNumber: card.card_number! };
    } catch (error) {
      throw operatorRefusal(error);
    }
  }

  /**
   * Step 2: the card is closed — moved (its proof's balance will be carried onto a card on
   * another device) or returned (its balance and deposit refunded once the operator's books are
   * final). A move needs the card's proof; a return may come without one when the phone is lost.
   * The operator blacklists the card, so no copy of it pays again. Asked again, answers the same.
   */
  async close(context: PaymentContext, input: { cardId: string; reason: 'move' | 'return'; proof: CardCloseProof | null; paymentPassword: string }): Promise<TransitCard> {
    const card = await this.#card(context.userId, input.cardId);
    const reason = input.reason === 'move' ? 'moved' as const : 'returned' as const;
    if (card.status === reason) return card;
    if (card.status !== 'active') throw errors.transit_card_not_active(`The transit card is ${card.status}.`, 'card_id');
    if (reason === 'moved' && !input.proof) {
      throw errors.transit_close_proof_invalid('A move carries the balance the card proves: close it from the phone that holds it.', 'proof');
    }
    await this.#verifyPaymentPassword(context.userId, input.paymentPassword);
    let closed;
    try {
      closed = await this.#operator.closeCard({ cardNumber: card.card_number!, reason, ...(input.proof ? { proof: input.proof } : {}) });
    } catch (error) {
      throw operatorRefusal(error);
    }
    const updated = await this.#db.updateTable('transit_cards').set({
      status: reason, closed_at: this.#clock(), proven_balance_fen: closed.provenBalanceFen,
      final_after: reason === 'returned' ? new Date(closed.finalAfter) : null,
    }).where('id', '=', card.id).where('status', '=', 'active').returningAll().executeTakeFirst();
    return updated ?? this.#card(context.userId, card.id);
  }

  /**
   * Step 3 of a move, on the new device: a new card of the brand carrying the moved card's
   * proven balance (no fee: the deposit moves with it). The balance waits as a load the phone
   * puts on the card online, like a paid top-up.
   */
  async moveIn(context: PaymentContext, input: { cardId: string; deviceId: string }): Promise<{ card: TransitCard; brand: BrandWire; issued: IssuedCard; carriedFen: bigint }> {
    const from = await this.#card(context.userId, input.cardId);
    if (from.status !== 'moved' || from.proven_balance_fen === null) {
      throw errors.transit_move_refused(`The transit card is ${from.status}; move it out of its phone first.`, 'card_id');
    }
    const carried = await this.#db.selectFrom('transit_cards').select('id').where('moved_from', '=', from.id).where('status', '<>', 'failed').executeTakeFirst();
    if (carried) throw errors.transit_move_refused(`This card's balance is already carried to card ${carried.id}.`, 'card_id');
    const brand = await this.#brand(from.brand_code);
    const card = await this.#startIssuing(context.userId, input.deviceId, brand, from.id);
    let issued: IssuedCard & { carriedFen?: bigint };
    try {
      issued = await this.#operator.issueCard({ brandCode: brand.code, requestId: card.id, carriedFrom: from.card_number! });
    } catch (error) {
      await this.#db.updateTable('transit_cards').set({ status: 'failed' }).where('id', '=', card.id).execute();
      throw operatorRefusal(error);
    }
    const carriedFen = issued.carriedFen ?? 0n;
    const active = await this.#db.transaction().execute(async (trx) => {
      if (carriedFen > 0n) {
        await trx.insertInto('transit_loads').values({
          id: newId('tl'), card_id: card.id, user_id: context.userId, amount_fen: carriedFen, order_id: null, status: 'paid', online_seq: null,
          created_at: this.#clock(), loaded_at: null, carried_from_card_id: from.id,
        }).execute();
      }
      return trx.updateTable('transit_cards').set({
        status: 'active', card_number: issued.cardNumber, issue_order_id: from.issue_order_id,
        auto_top_up_below_fen: from.auto_top_up_below_fen, auto_top_up_amount_fen: from.auto_top_up_amount_fen, low_balance_alert_fen: from.low_balance_alert_fen,
      }).where('id', '=', card.id).returningAll().executeTakeFirstOrThrow();
    });
    const { carriedFen: _carried, ...personalisation } = issued;
    return { card: active, brand, issued: personalisation, carriedFen };
  }

  /**
   * Refunds returned cards whose settlement window is over: the operator's final balance and
   * the deposit, back to what paid them — top-ups newest first (across the cards a balance was
   * carried through), the deposit from the issue order. Each refund is an order refund with the
   * card's return as its reason, so a pass that stopped half way resumes from what is done.
   */
  async completeReturns(traceId = 'transit-returns'): Promise<number> {
    const due = await this.#db.selectFrom('transit_cards').selectAll().where('status', '=', 'returned').where('refunded_at', 'is', null)
      .where('final_after', '<=', this.#clock()).orderBy('final_after').limit(100).execute();
    let completed = 0;
    for (const card of due) {
      try {
        await this.#completeReturn(card, traceId);
        completed += 1;
      } catch (error) {
        // A card the operator cannot answer for yet, or a bank that declines a refund: the next pass tries again.
        if (!(error instanceof TransitError)) throw error;
      }
    }
    return completed;
  }

  async #completeReturn(card: TransitCard, traceId: string): Promise<void> {
    const brand = await this.#brand(card.brand_code);
    const merchantId = await this.#merchantOf(brand);
    let target = card.refund_target_fen;
    if (target === null) {
      const { balanceFen } = await this.#operator.finalBalance({ cardNumber: card.card_number! });
      target = balanceFen;
      await this.#db.updateTable('transit_cards').set({ refund_target_fen: target }).where('id', '=', card.id).where('refund_target_fen', 'is', null).execute();
    }
    // The chain of cards this balance went through: the returned one, and every card it was moved from.
    const chain: TransitCard[] = [card];
    while (chain.at(-1)!.moved_from && chain.length < 50) {
      chain.push(await this.#db.selectFrom('transit_cards').selectAll().where('id', '=', chain.at(-1)!.moved_from!).executeTakeFirstOrThrow());
    }
    const reason = `transit card ${card.id} returned`;
    const loads = await this.#db.selectFrom('transit_loads').select(['order_id']).where('card_id', 'in', chain.map((c) => c.id))
      .where('status', '=', 'loaded').where('order_id', 'is not', null).orderBy('created_at', 'desc').execute();
    const issueOrder = chain.at(-1)!.issue_order_id;
    const deposit = issueOrder ? brand.depositFen : 0n;
    await this.#refundFrom(merchantId, loads.map((l) => l.order_id!), target, `${reason}: balance`, traceId);
    if (issueOrder && deposit > 0n) await this.#refundFrom(merchantId, [issueOrder], deposit, `${reason}: deposit`, traceId);
    await this.#db.updateTable('transit_cards').set({ refunded_at: this.#clock() }).where('id', '=', card.id).execute();
  }

  /** Refunds `amountFen` across `orderIds` in order, less what refunds with this `reason` already gave back. */
  async #refundFrom(merchantId: string, orderIds: string[], amountFen: bigint, reason: string, traceId: string): Promise<void> {
    if (orderIds.length === 0 || amountFen <= 0n) return;
    const done = await this.#db.selectFrom('transactions').select((eb) => eb.fn.coalesce(eb.fn.sum<bigint>('amount_fen'), eb.val(0n)).as('fen'))
      .where('type', '=', 'refund').where('reason', '=', reason).where('status', 'in', ['pending', 'succeeded']).executeTakeFirstOrThrow();
    let left = amountFen - BigInt(done.fen);
    for (const orderId of orderIds) {
      if (left <= 0n) break;
      const order = await this.#db.selectFrom('orders').select(['amount_fen', 'refunded_fen', 'status']).where('id', '=', orderId).executeTakeFirstOrThrow();
      const room = order.amount_fen - order.refunded_fen;
      if (order.status !== 'paid' || room <= 0n) continue;
      const give = left < room ? left : room;
      await this.#orders.refund({ merchantId, traceId }, { orderId, amountFen: give, reason });
      left -= give;
    }
  }
}
