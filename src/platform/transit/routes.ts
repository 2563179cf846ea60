// /v1/transit/…: brands, issuing a card onto a device, top-ups in three steps (pay, sign, confirm),
// history and the automatic top-up / low-balance alert settings. Session auth; POSTs that move
// money take an Idempotency-Key.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors, idempotencyErrors } from '../errors.ts';
import type { Idempotency } from '../idempotency/idempotency.ts';
import type { TransitCard, TransitLoad, TransitService } from './service.ts';

const fen = (what: string) => z.number().int().min(0).max(100_000_000).describe(`${what}, in fen`);
const hexOf = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of hex`);
const source = z.union([
  z.object({ kind: z.literal('balance') }),
  z.object({ kind: z.literal('card'), card_id: z.string().min(1).max(64) }),
]).describe('Where the money comes from: the payment account balance or a bound card');
const payment = { source, payment_password: z.string().max(32).describe('The 6-digit payment password') };
const toSource = (s: z.infer<typeof source>) => (s.kind === 'card' ? { kind: 'card' as const, cardId: s.card_id } : { kind: 'balance' as const });

const cardSchema = z.object({
  id: z.string(), brand: z.string(), kind: z.enum(['city', 'tunion']), card_number: z.string().nullable(), device_id: z.string(), status: z.string(),
  auto_top_up: z.object({ below_fen: z.number().describe('Top up when the balance falls below this, in fen'), amount_fen: z.number() })
    .nullable().describe('The automatic top-up, or null when it is off'),
  low_balance_alert_fen: z.number().nullable().describe('Alert when the balance falls below this (fen), or null when it is off'),
  moved_from: z.string().nullable().describe('The card (tc_…) this one carries the balance of, moved from another device; null otherwise'),
  proven_balance_fen: z.number().nullable().describe('A moved or returned card: the balance it proved when it was closed (fen); null otherwise'),
  refund_after: z.string().nullable().describe('A returned card: when the operator\'s books are final and the balance and deposit are refunded'),
  refunded_at: z.string().nullable().describe('A returned card: when the refund was made; null before'),
});
const cardToWire = (c: TransitCard): z.infer<typeof cardSchema> => ({
  id: c.id, brand: c.brand_code, kind: c.brand_kind, card_number: c.card_number, device_id: c.device_id, status: c.status,
  auto_top_up: c.auto_top_up_below_fen !== null && c.auto_top_up_amount_fen !== null
    ? { below_fen: Number(c.auto_top_up_below_fen), amount_fen: Number(c.auto_top_up_amount_fen) } : null,
  low_balance_alert_fen: c.low_balance_alert_fen === null ? null : Number(c.low_balance_alert_fen),
  moved_from: c.moved_from, proven_balance_fen: c.proven_balance_fen === null ? null : Number(c.proven_balance_fen),
  refund_after: c.final_after?.toISOString() ?? null, refunded_at: c.refunded_at?.toISOString() ?? null,
});
const loadSchema = z.object({ id: z.string(), card_id: z.string(), amount_fen: z.number(), status: z.string(),
  online_seq: z.number().nullable().describe('The card\'s online transaction counter the load was signed for, or null before signing') });
const loadToWire = (l: TransitLoad): z.infer<typeof loadSchema> => ({ id: l.id, card_id: l.card_id, amount_fen: Number(l.amount_fen), status: l.status, online_seq: l.online_seq });
/** bigint fields of operator objects become numbers on the platform's API, as its other amounts are. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));

export function registerTransitRoutes(app: App, deps: { accounts: AccountService; idempotency: Idempotency; transit: TransitService }): void {
  const session = requireSession(deps.accounts);
  const moneyMoving = [session, deps.idempotency.preHandler];
  const security = [{ session: [] }];
  const tags = ['transit'];
  const context = (request: FastifyRequest) => ({ userId: caller(request).user.id, traceId: request.id });
  const cardParams = z.object({ card_id: z.string().min(1).max(64) });
  const loadParams = z.object({ top_up_id: z.string().min(1).max(64).describe('The top-up\'s id (tl_…)') });
  const idempotencyHeader = z.object({ 'idempotency-key': z.string().optional().describe('Required. Unique per operation (e.g. a UUID); a retry with the same key and body gets the same answer') });
  // The operator's refusals that are not the caller's: it cannot be reached, or it refused the platform's own request.
  const operatorErrors = [errors.transit_operator_unavailable, errors.transit_load_refused];
  // Paying the operator (an order paid from the balance or a bound card, verified by the payment password).
  const payingErrors = [...idempotencyErrors, errors.payment_account_not_found, errors.payment_password_wrong, errors.payment_password_locked,
    errors.not_found, errors.insufficient_balance, errors.limit_exceeded, errors.card_declined, errors.bank_unavailable];

  app.get('/v1/transit/brands', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Transit brands: AID, issue fee, deposit, top-up limits, balance cap, fares, status and replacement',
      description: 'As the operators publish them (cached a minute). A retired brand names its replacement; it is no longer issued.',
      errors: operatorErrors,
    },
  }, async () => ({ data: plain(await deps.transit.brands()) }));

  app.get('/v1/transit/cards', {
    preHandler: session,
    schema: {
      security, tags, summary: 'The caller\'s live transit cards',
      description: 'Active cards only, oldest first, with their automatic top-up and low-balance alert settings.',
      errors: [], response: { 200: z.object({ data: z.array(cardSchema) }) },
    },
  },
    async (request) => ({ data: (await deps.transit.list(caller(request).user.id)).map(cardToWire) }));

  app.post('/v1/transit/cards', {
    preHandler: moneyMoving,
    schema: {
      security, tags, summary: 'Issue a transit card onto a device (fee and deposit paid to the operator; refunded if issuance fails)',
      description: 'Refused for a retired brand (naming its replacement), for a second T-Union card or a second card of one brand on '
        + 'the device. The fee and deposit are paid to the operator first, from the balance or a bound card, and refunded if it fails to '
        + 'issue. The answer carries the card\'s personalisation for the phone\'s secure element.',
      headers: idempotencyHeader,
      errors: [...payingErrors, errors.device_not_active, errors.transit_brand_unknown, errors.transit_brand_retired,
        errors.transit_tunion_present, errors.transit_brand_present, ...operatorErrors],
      body: z.object({ device_id: z.string().min(1).max(64), brand: z.string().min(1).max(40).describe('Brand code from GET /v1/transit/brands'), ...payment }),
    },
  }, async (request, reply) => {
    const b = request.body;
    const { card, brand, issued } = await deps.transit.issue(context(request), {
      deviceId: b.device_id, brandCode: b.brand, source: toSource(b.source), verification: { paymentPassword: b.payment_password },
    });
    void reply.code(201);
    // The personalisation (card keys) goes to the phone's secure element over this TLS session, as a TSM's would.
    return { card: cardToWire(card), brand: plain(brand), personalisation: issued };
  });

  app.post('/v1/transit/cards/:card_id/top-ups', {
    preHandler: moneyMoving,
    schema: {
      security, tags, summary: 'Top up a transit card, step 1: pay the operator. The phone then loads online (sign, confirm).',
      description: 'Takes the money (an order paid to the operator, from the balance or a bound card) within the brand\'s top-up '
        + 'limits. The top-up is then `paid`; the phone signs it (step 2) and confirms it (step 3) to put it on the card.',
      headers: idempotencyHeader,
      errors: [...payingErrors, errors.transit_card_not_active, errors.transit_top_up_out_of_limits, ...operatorErrors],
      params: cardParams, body: z.object({ amount_fen: fen('The top-up'), ...payment }), response: { 201: loadSchema },
    },
  }, async (request, reply) => {
    const b = request.body;
    const load = await deps.transit.startTopUp(context(request), {
      cardId: request.params.card_id, amountFen: BigInt(b.amount_fen), source: toSource(b.source), verification: { paymentPassword: b.payment_password },
    });
    void reply.code(201);
    return loadToWire(load);
  });

  app.get('/v1/transit/cards/:card_id/top-ups', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Top-ups paid but not yet on the card (to finish after a tear)',
      description: 'The caller\'s `paid` or `signed` top-ups of this card, oldest first (at most 20): the phone signs or confirms '
        + 'each to finish it.',
      errors: [], params: cardParams, response: { 200: z.object({ data: z.array(loadSchema) }) },
    },
  }, async (request) => ({ data: (await deps.transit.unfinishedTopUps(caller(request).user.id, request.params.card_id)).map(loadToWire) }));

  app.post('/v1/transit/top-ups/:top_up_id/sign', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Top-up step 2: the card\'s INITIALIZE FOR LOAD answer; the operator verifies MAC1 and answers MAC2',
      description: 'The card number and amount are the platform\'s, not the phone\'s. A top-up the operator refuses before it '
        + 'ever signed it (limits, blacklisted or closed card) is refunded; a second signature for a moved counter is refused.',
      // The operator's refusals name the top-up's card and amount.
      errorParams: ['card_id', 'amount_fen'],
      errors: [errors.not_found, errors.transit_load_state, errors.transit_card_not_active, errors.transit_top_up_out_of_limits,
        ...operatorErrors],
      params: loadParams,
      body: z.object({
        balance_fen: fen('The card\'s balance'),
        online_seq: z.number().int().min(0).max(0xffff).describe('The card\'s online transaction counter, from INITIALIZE FOR LOAD'),
        random: hexOf(4).describe('The card\'s pseudo-random number, from INITIALIZE FOR LOAD'),
        mac1: hexOf(4).describe('MAC1 from INITIALIZE FOR LOAD'),
        terminal_id: hexOf(6).describe('The terminal id the phone sent in INITIALIZE FOR LOAD'),
      }),
      response: {
        200: z.object({
          top_up: loadSchema.describe('The top-up, now signed'), mac2: z.string().describe('MAC2 for CREDIT FOR LOAD (hex)'),
          date: z.string().describe('The load date for CREDIT FOR LOAD (YYYYMMDD, China Standard Time)'), time: z.string().describe('The load time for CREDIT FOR LOAD (HHMMSS, China Standard Time)'),
        }),
      },
    },
  }, async (request) => {
    const b = request.body;
    const signed = await deps.transit.signTopUp(context(request), {
      loadId: request.params.top_up_id, balanceFen: BigInt(b.balance_fen), onlineSeq: b.online_seq, random: b.random, mac1: b.mac1, terminalId: b.terminal_id,
    });
    return { top_up: loadToWire(signed.load), mac2: signed.mac2, date: signed.date, time: signed.time };
  });

  app.post('/v1/transit/top-ups/:top_up_id/confirm', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Top-up step 3: the card\'s TAC after CREDIT FOR LOAD (or GET TRANSACTION PROVE)',
      description: 'The operator verifies the TAC and the top-up is `loaded`: on the card. Confirming a loaded top-up again answers it.',
      errors: [errors.not_found, errors.transit_load_state, ...operatorErrors],
      params: loadParams, body: z.object({ tac: hexOf(4).describe('The TAC the card answered to CREDIT FOR LOAD or GET TRANSACTION PROVE') }), response: { 200: loadSchema },
    },
  }, async (request) => loadToWire(await deps.transit.confirmTopUp(context(request), { loadId: request.params.top_up_id, tac: request.body.tac })));

  app.get('/v1/transit/cards/:card_id/history', {
    preHandler: session,
    schema: {
      security, tags, summary: 'The operator\'s settled records of the card (gate taps uploaded, loads confirmed)',
      description: 'As the operator settled them: taps the gates uploaded and loads confirmed. A card not yet issued has none.',
      errors: [errors.not_found, ...operatorErrors], params: cardParams,
    },
  }, async (request) => ({ data: plain(await deps.transit.history(caller(request).user.id, request.params.card_id)) }));

  app.put('/v1/transit/cards/:card_id/settings', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Automatic top-up below a threshold, and the low-balance alert (null turns off)', params: cardParams,
      description: 'The automatic top-up amount must be within the brand\'s top-up limits. Either setting is turned off with null.',
      errors: [errors.not_found, errors.transit_top_up_out_of_limits, ...operatorErrors],
      body: z.object({
        auto_top_up: z.object({ below_fen: fen('Top up when the balance falls below'), amount_fen: fen('Top up by') }).nullable()
          .describe('The automatic top-up, or null to turn it off'),
        low_balance_alert_fen: fen('Alert when the balance falls below').nullable().describe('The alert threshold in fen, or null to turn it off'),
      }),
      response: { 200: cardSchema },
    },
  }, async (request) => {
    const b = request.body;
    return cardToWire(await deps.transit.settings(caller(request).user.id, request.params.card_id, {
      autoTopUp: b.auto_top_up ? { belowFen: BigInt(b.auto_top_up.below_fen), amountFen: BigInt(b.auto_top_up.amount_fen) } : null,
      lowBalanceAlertFen: b.low_balance_alert_fen === null ? null : BigInt(b.low_balance_alert_fen),
    }));
  });

  app.post('/v1/transit/cards/:card_id/close-challenge', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Move or return a card, step 1: the operator\'s challenge the card\'s close proof covers', params: cardParams,
      description: 'The phone that holds the card asks its secure element to close the card over this challenge: the card stops '
        + 'answering readers and states its balance and counters under its own key. The card stays active until step 2.',
      errors: [errors.not_found, errors.transit_card_not_active, ...operatorErrors], body: z.object({}).optional(),
      response: { 200: z.object({ challenge: z.string().describe('8 bytes of hex'), card_number: z.string().describe('The card\'s number') }) },
    },
  }, async (request) => {
    const answer = await deps.transit.closeChallenge(caller(request).user.id, request.params.card_id);
    return { challenge: answer.challenge, card_number: answer.cardNumber };
  });

  app.post('/v1/transit/cards/:card_id/close', {
    preHandler: moneyMoving,
    schema: {
      security, tags, summary: 'Move or return a card, step 2: close it (blacklisted; moved: balance to carry; returned: refund after settlement)',
      description: 'A move needs the card\'s close proof (from the phone that holds it); its balance is then carried onto a card on '
        + 'another device with POST /v1/transit/cards/{card_id}/move-in. A return may come without a proof (a lost phone): the '
        + 'balance and the deposit are refunded to what paid them once the operator\'s settlement window is over (`refund_after`).',
      headers: idempotencyHeader, params: cardParams,
      errors: [...idempotencyErrors, errors.not_found, errors.transit_card_not_active, errors.transit_close_proof_invalid,
        errors.payment_account_not_found, errors.payment_password_wrong, errors.payment_password_locked, ...operatorErrors],
      body: z.object({
        reason: z.enum(['move', 'return']).describe('move: to another device of yours; return: give the card back and get the money'),
        proof: z.object({
          balance_fen: fen('The card\'s balance'), online_seq: z.number().int().min(0).max(0xffff).describe('The card\'s online (load) counter'),
          offline_seq: z.number().int().min(0).max(0xffff).describe('The card\'s offline (purchase) counter'),
          challenge: hexOf(8).describe('The challenge from step 1'), mac: hexOf(4).describe('The card\'s MAC over all of the above'),
        }).nullable().describe('The card\'s close proof, or null for a return without the phone'),
        payment_password: z.string().max(32).describe('The 6-digit payment password'),
      }),
      response: { 200: cardSchema },
    },
  }, async (request) => {
    const b = request.body;
    const proof = b.proof ? {
      balanceFen: BigInt(b.proof.balance_fen), onlineSeq: b.proof.online_seq, offlineSeq: b.proof.offline_seq, challenge: b.proof.challenge, mac: b.proof.mac,
    } : null;
    return cardToWire(await deps.transit.close(context(request), { cardId: request.params.card_id, reason: b.reason, proof, paymentPassword: b.payment_password }));
  });

  app.post('/v1/transit/cards/:card_id/move-in', {
    preHandler: moneyMoving,
    schema: {
      security, tags, summary: 'Move a card, step 3: a card on the new device carrying the moved card\'s balance', params: cardParams,
      description: 'Issues a card of the same brand onto the device (no fee: the deposit moves with it) and leaves the carried balance '
        + 'as a top-up the phone loads online (GET /v1/transit/cards/{card_id}/top-ups, then sign and confirm). The device rules of an '
        + 'issue apply (one T-Union card, one card per brand).',
      headers: idempotencyHeader,
      errors: [...idempotencyErrors, errors.not_found, errors.device_not_active, errors.transit_move_refused, errors.transit_tunion_present,
        errors.transit_brand_present, errors.transit_brand_unknown, ...operatorErrors],
      body: z.object({ device_id: z.string().min(1).max(64).describe('The device the card moves to') }),
    },
  }, async (request, reply) => {
    const moved = await deps.transit.moveIn(context(request), { cardId: request.params.card_id, deviceId: request.body.device_id });
    void reply.code(201);
    return { card: cardToWire(moved.card), brand: plain(moved.brand), personalisation: moved.issued, carried_fen: Number(moved.carriedFen) };
  });
}

// The wire shapes of transit cards and their top-ups, for src/platform/client.ts (z.infer).
export { cardSchema as transitCardSchema, loadSchema as transitLoadSchema };
