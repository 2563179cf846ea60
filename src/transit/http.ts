// The operators' HTTP API (for the platform and the gates), behind an operator API key.
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { defineErrors, type ErrorSpec } from '../infra/http/errors.ts';
import type { App } from '../infra/http/server.ts';
import { fromWireJson, toWireJson, TransitError, type TransitErrorCode, type TransitOperatorClient } from './client.ts';

/** The operators' error catalogue. */
export const transitErrorSpecs = {
  bad_request: { status: 400, type: 'invalid_request_error', raisedWhen: 'a field is malformed; `param` names it' },
  unauthorized: { status: 401, type: 'authentication_error', raisedWhen: 'the operator API key is missing or wrong' },
  brand_unknown: { status: 404, type: 'invalid_request_error', raisedWhen: 'no operator runs this brand' },
  brand_retired: { status: 422, type: 'invalid_request_error', raisedWhen: 'the brand is retired; `replacement` names what to use' },
  card_unknown: { status: 404, type: 'invalid_request_error', raisedWhen: 'no operator issued this card' },
  card_blocked: { status: 422, type: 'card_error', raisedWhen: 'the card is blacklisted' },
  card_closed: { status: 422, type: 'card_error', raisedWhen: 'the card was moved or returned' },
  load_out_of_limits: { status: 422, type: 'invalid_request_error', raisedWhen: 'the top-up is outside the brand\'s limits or would pass its balance cap' },
  load_mac_invalid: { status: 422, type: 'card_error', raisedWhen: 'the card\'s MAC1 does not verify' },
  load_counter_moved: { status: 409, type: 'invalid_request_error', raisedWhen: 'the load was already credited (the card\'s counter moved)' },
  load_not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'no load with this id' },
  load_tac_invalid: { status: 422, type: 'card_error', raisedWhen: 'the card\'s load TAC does not verify' },
  unavailable: { status: 503, type: 'api_error', raisedWhen: 'the operator cannot answer now' },
  close_proof_invalid: { status: 422, type: 'card_error', raisedWhen: 'a close proof is missing, covers another challenge, does not verify under the card\'s key, or claims more than the card holds' },
  carry_refused: { status: 422, type: 'invalid_request_error', raisedWhen: 'a balance is carried from a card not closed for a move, carried already, or of another amount' },
  settlement_window_open: { status: 409, type: 'invalid_request_error', raisedWhen: 'a closed card\'s final balance is asked before its settlement window ends; `final_after` says when' },
} as const satisfies Record<TransitErrorCode, ErrorSpec>;
const transitErrors = defineErrors(transitErrorSpecs);
const e = transitErrors;

const hexOf = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of hex`);
const fen = z.string().regex(/^[0-9]{1,12}$/, 'fen as a decimal string');
const cardNumber = z.string().regex(/^[0-9]{16}$/, '16 digits');
const bcd = (digits: number) => z.string().regex(new RegExp(`^[0-9]{${digits}}$`));

const loadBody = z.object({
  loadId: z.string().min(1).max(64), carriedFrom: cardNumber.optional(), cardNumber, amountFen: fen, balanceFen: fen, onlineSeq: z.number().int().min(0).max(0xffff),
  random: hexOf(4), mac1: hexOf(4), terminalId: hexOf(6),
}).describe('The card\'s INITIALIZE FOR LOAD answer');
const tapRecord = z.object({
  cardNumber, offlineSeq: z.number().int().min(0).max(0xffff), amountFen: fen, transactionType: z.number().int().min(0).max(255),
  terminalId: hexOf(6), terminalSeq: z.number().int().min(0).max(0xffffffff), date: bcd(8), time: bcd(6), tac: hexOf(4),
  description: z.string().max(100).optional(),
});
const uploadBody = z.object({ gateId: z.string().min(1).max(64), brandCode: z.string().min(1).max(40), records: z.array(tapRecord).max(20_000) });

/** Routes; bodies carry money as decimal strings (the client's toWireJson), turned back into bigint here. */
export function registerTransitRoutes(app: App, operators: TransitOperatorClient, apiKeys: readonly string[]): void {
  if (apiKeys.length === 0) throw new Error('the operator API needs at least one key');
  const keys = apiKeys.map((k) => Buffer.from(k));
  app.addErrorMapper((error) => {
    if (!(error instanceof TransitError)) return undefined;
    return transitErrors[error.code](error.message, error.param, error.details);
  });
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (!keys.some((k) => k.length === given.length && timingSafeEqual(k, given))) {
      throw new TransitError('unauthorized', 'An operator API key is required: Authorization: Bearer <key>.');
    }
  });
  // Money goes out as strings, as it came in.
  const send = (value: unknown) => JSON.parse(toWireJson(value)) as unknown;
  const bigints = <T>(value: unknown): T => fromWireJson<T>(JSON.stringify(value));

  // Every /v1/ route answers `unauthorized` without an operator key (the onRequest hook above).
  app.get('/v1/brands', { schema: { description: 'Transit brands as data: AID, fees, top-up limits, cap, fares, status.', errors: [e.unauthorized] } },
    async () => send({ data: await operators.brands() }));
  app.post('/v1/cards', {
    schema: { description: 'Personalise a new card of a brand (idempotent by requestId); with carriedFrom, the card a moved card\'s balance is carried to.',
      errors: [e.unauthorized, e.brand_unknown, e.brand_retired, e.bad_request, e.carry_refused],
      body: z.object({ brandCode: z.string().min(1).max(40), requestId: z.string().min(1).max(64), carriedFrom: cardNumber.optional() }) },
  }, async (request) => send(await operators.issueCard(request.body)));
  app.post('/v1/loads', {
    schema: {
      description: 'Verify a card\'s MAC1 and sign the load (MAC2).', body: loadBody,
      errors: [e.unauthorized, e.bad_request, e.card_unknown, e.card_closed, e.card_blocked, e.load_out_of_limits, e.load_mac_invalid,
        e.load_counter_moved, e.carry_refused],
    },
  },
    async (request) => send(await operators.signLoad(bigints(request.body))));
  app.post('/v1/loads/:loadId/confirm', {
    schema: { description: 'The card\'s TAC after CREDIT FOR LOAD.', errors: [e.unauthorized, e.bad_request, e.load_not_found, e.load_tac_invalid], params: z.object({ loadId: z.string().max(64) }), body: z.object({ tac: hexOf(4) }) },
  }, async (request) => operators.confirmLoad({ loadId: request.params.loadId, tac: request.body.tac }));
  app.post('/v1/loads/:loadId/void', {
    schema: { description: 'The card never credited this load: void it.', errors: [e.unauthorized, e.load_not_found, e.load_counter_moved], params: z.object({ loadId: z.string().max(64) }), body: z.object({}) },
  }, async (request) => operators.voidLoad({ loadId: request.params.loadId }));
  app.post('/v1/uploads', { schema: { description: 'A gate\'s batch of offline taps: every TAC verified, each (card, ATC) settled once.', body: uploadBody,
    errors: [e.unauthorized, e.bad_request, e.brand_unknown] } },
    async (request) => operators.upload(bigints(request.body)));
  app.get('/v1/blacklist', { schema: { description: 'Blacklisted card numbers of a brand.', errors: [e.unauthorized, e.brand_unknown],
    querystring: z.object({ brand: z.string().max(40) }) } },
    async (request) => {
      try {
        return { data: await operators.blacklist(request.query.brand) };
      } catch (error) {
        // The operators call it `brandCode`; this caller sent `brand`.
        if (error instanceof TransitError && error.code === 'brand_unknown') throw new TransitError('brand_unknown', error.message, 'brand');
        throw error;
      }
    });
  app.post('/v1/blacklist', { schema: { description: 'Blacklist a card.', errors: [e.unauthorized, e.bad_request, e.card_unknown], body: z.object({ cardNumber, reason: z.string().min(1).max(100) }) } },
    async (request) => { await operators.block(request.body); return { blocked: true }; });
  app.get('/v1/cards/:cardNumber/records', { schema: { description: 'Settled taps and confirmed loads of a card.',
    errors: [e.unauthorized, e.bad_request, e.card_unknown], params: z.object({ cardNumber }) } },
    async (request) => send({ data: await operators.records(request.params.cardNumber) }));
  app.post('/v1/cards/:cardNumber/close-challenge', {
    schema: { description: 'A fresh challenge the card\'s close proof must cover.', errors: [e.unauthorized, e.bad_request, e.card_unknown, e.card_closed, e.card_blocked],
      params: z.object({ cardNumber }), body: z.object({}) },
  }, async (request) => operators.closeChallenge({ cardNumber: request.params.cardNumber }));
  const closeProof = z.object({
    balanceFen: fen, onlineSeq: z.number().int().min(0).max(0xffff), offlineSeq: z.number().int().min(0).max(0xffff), challenge: hexOf(8), mac: hexOf(4),
  }).describe('The card\'s balance and counters under its TAC key, bound to the challenge');
  app.post('/v1/cards/:cardNumber/close', {
    schema: { description: 'Close a moved or returned card (blacklisted): answers the books, the proven balance and when they are final.',
      errors: [e.unauthorized, e.bad_request, e.card_unknown, e.card_closed, e.close_proof_invalid], params: z.object({ cardNumber }),
      body: z.object({ reason: z.enum(['moved', 'returned']), proof: closeProof.optional() }) },
  }, async (request) => {
    const { proof } = request.body;
    return send(await operators.closeCard({ cardNumber: request.params.cardNumber, reason: request.body.reason, ...(proof ? { proof: bigints(proof) } : {}) }));
  });
  app.get('/v1/cards/:cardNumber/final-balance', {
    schema: { description: 'A closed card\'s balance once its settlement window is over.', errors: [e.unauthorized, e.bad_request, e.card_unknown, e.settlement_window_open],
      params: z.object({ cardNumber }) },
  }, async (request) => send(await operators.finalBalance({ cardNumber: request.params.cardNumber })));
}
