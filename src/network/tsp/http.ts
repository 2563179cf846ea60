// The TSP's HTTP face: the wallet server's calls (provision, replenish, status, live batches)
// behind the wallet-provider key, and the issuers' lifecycle calls behind each bank's own key.
// The same `TokenServiceClient` the platform uses in process; `createHttpTokenServiceClient`
// (src/network/client.ts) is its other end.
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { defineErrors, type ErrorSpec } from '../../infra/http/errors.ts';
import { createHttpApp, type App } from '../../infra/http/server.ts';
import type { Logger } from '../../infra/log/logger.ts';
import { TokenServiceError } from '../token-service.ts';
import type { Tsp } from './party.ts';
import { lukBatchSizeMax } from './service.ts';

export const tspErrorSpecs = {
  unauthorized: { status: 401, type: 'authentication_error', raisedWhen: 'the wallet-provider or issuer key is missing or wrong' },
  parameter_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'a field is malformed; `param` names it' },
  token_not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'no token with this reference (for this wallet card)' },
  token_not_active: { status: 409, type: 'invalid_request_error', raisedWhen: 'the token is suspended or deleted: no new keys' },
  atc_exhausted: { status: 409, type: 'invalid_request_error', raisedWhen: 'the token has used all its transaction counters' },
  too_many_live_batches: { status: 429, type: 'invalid_request_error', raisedWhen: 'the token already has 5 unexpired key batches with unspent keys' },
} as const satisfies Record<string, ErrorSpec>;
const e = defineErrors(tspErrorSpecs);

const id = z.string().min(1).max(64);
const status = z.enum(['active', 'suspended', 'deleted']);

/** The TSP's HTTP server (call `listen`). `issuerKeys`: each bank's key, by bank code. */
export async function createTspHttpApp(options: {
  tsp: Tsp; walletKey: string; issuerKeys: Readonly<Record<string, string>>; logger: Logger; version: string;
}): Promise<App> {
  const app = await createHttpApp({
    party: 'tsp', title: 'UnionPay TSP (Mi Pay Open sandbox)',
    description: 'The token service provider of the card network: device card tokens, the vault, limited-use keys, token lifecycle.',
    version: options.version, logger: options.logger, credentialsError: e.unauthorized,
    securitySchemes: {
      wallet_key: { type: 'http', scheme: 'bearer', description: 'The wallet provider\'s key (the keyring\'s tsp.wallet-provider-key)' },
      issuer_key: { type: 'http', scheme: 'bearer', description: 'An issuing bank\'s key at the TSP (the keyring\'s tsp.issuer.<bank>)' },
    },
  });
  const walletKey = Buffer.from(options.walletKey);
  const issuers = Object.entries(options.issuerKeys).map(([code, key]) => ({ code, key: Buffer.from(key) }));
  const matches = (key: Buffer, given: Buffer) => key.length === given.length && timingSafeEqual(key, given);
  app.addErrorMapper((error) => (error instanceof TokenServiceError ? e[error.code](error.message) : undefined));
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (request.url.startsWith('/v1/issuer/')) {
      const issuer = issuers.find((i) => matches(i.key, given));
      if (!issuer) throw e.unauthorized('An issuer key is required: Authorization: Bearer <key>.');
      (request as { issuerCode?: string }).issuerCode = issuer.code;
    } else if (!matches(walletKey, given)) {
      throw e.unauthorized('The wallet-provider key is required: Authorization: Bearer <key>.');
    }
  });
  const service = options.tsp.service;
  const wallet = [{ wallet_key: [] }];
  const tags = ['tokens'];
  const keyCount = z.number().int().min(1).max(lukBatchSizeMax);

  app.post('/v1/tokens', {
    schema: {
      tags, security: wallet, summary: 'Provision a token for a card the issuer verified (ID&V done by the wallet with the bank)',
      description: 'The card data passes through the wallet server, which keeps none of it; answers the token and its first key batch, '
        + 'sealed to the device key.',
      errors: [e.unauthorized, e.parameter_invalid],
      body: z.object({
        walletCardId: id.describe('The wallet\'s id of the device card (bound into the sealed keys)'), bankCode: z.string().min(2).max(8),
        card: z.object({ pan: z.string().regex(/^[0-9]{13,19}$/), expiryYymm: z.string().regex(/^[0-9]{4}$/), panSequence: z.string().regex(/^[0-9]{1,3}$/) }),
        devicePublicKey: z.string().min(1).max(400).describe('The device\'s P-256 key, SPKI DER base64'), keyCount,
      }),
    },
  }, async (request) => service.provision(request.body));

  app.post('/v1/tokens/:ref/key-batches', {
    schema: {
      tags, security: wallet, summary: 'A new limited-use key batch for an active token', description: 'Sealed to the device key given.',
      errors: [e.unauthorized, e.parameter_invalid, e.token_not_found, e.token_not_active, e.atc_exhausted, e.too_many_live_batches],
      params: z.object({ ref: id }),
      body: z.object({ tokenReferenceId: id, walletCardId: id, devicePublicKey: z.string().min(1).max(400), keyCount }),
    },
  }, async (request) => {
    if (request.body.tokenReferenceId !== request.params.ref) throw e.parameter_invalid('tokenReferenceId is the path\'s.', 'tokenReferenceId');
    return service.replenish(request.body);
  });

  app.post('/v1/tokens/:ref/status', {
    schema: {
      tags, security: wallet, summary: 'The wallet\'s lifecycle change of a token (idempotent)',
      description: 'Suspend, resume or delete; `retireKeys` supersedes the token\'s live key batches.',
      errors: [e.unauthorized, e.parameter_invalid, e.token_not_found], params: z.object({ ref: id }),
      body: z.object({ tokenReferenceId: id, status, reason: z.string().min(1).max(40), retireKeys: z.boolean().optional() }),
    },
  }, async (request) => {
    if (request.body.tokenReferenceId !== request.params.ref) throw e.parameter_invalid('tokenReferenceId is the path\'s.', 'tokenReferenceId');
    const { retireKeys, ...change } = request.body;
    await service.changeStatus({ ...change, ...(retireKeys !== undefined ? { retireKeys } : {}) });
    return { ok: true };
  });

  app.post('/v1/live-key-batches', {
    schema: {
      tags, security: wallet, summary: 'Per token, the key batches the TSP still accepts', description: 'Live and unexpired only.',
      errors: [e.unauthorized, e.parameter_invalid], body: z.object({ tokenReferenceIds: z.array(id).max(200) }),
    },
  }, async (request) => ({ data: await service.liveKeyBatches(request.body.tokenReferenceIds) }));

  app.post('/v1/issuer/token-actions', {
    schema: {
      tags: ['issuers'], security: [{ issuer_key: [] }],
      summary: 'For issuing banks: suspend, resume or delete every token of a card number (card lost, found, replaced, closed)',
      description: 'Only the calling bank\'s tokens are touched; the wallet server is told of each. The answer never holds the card number.',
      errors: [e.unauthorized, e.parameter_invalid],
      body: z.object({
        bankCode: z.string().min(2).max(8), pan: z.string().regex(/^[0-9]{13,19}$/), action: z.enum(['suspend', 'resume', 'delete']),
        reason: z.enum(['card_lost', 'card_found', 'card_replaced', 'card_closed']),
      }),
    },
  }, async (request) => {
    const issuerCode = (request as { issuerCode?: string }).issuerCode;
    if (request.body.bankCode !== issuerCode) throw e.parameter_invalid('bankCode is the calling bank\'s own.', 'bankCode');
    return { data: await service.changeByBank(request.body) };
  });
  return app;
}
