import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticationHook, type App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors } from '../errors.ts';
import type { Merchant, MerchantService, Order } from './service.ts';
import { merchantsPerOwnerMax, orderLimits } from './service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    merchant?: Merchant;
  }
}

/** A hook admitting merchants by API key (`Authorization: Bearer sk_…`), run before the body is parsed. */
export function requireMerchant(merchants: MerchantService) {
  return authenticationHook(async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const key = header?.startsWith('Bearer sk_') ? header.slice(7).trim() : undefined;
    const merchant = key ? await merchants.authenticate(key) : undefined;
    if (!merchant) throw errors.authentication_required('A merchant API key is required: Authorization: Bearer sk_….');
    request.merchant = merchant;
  });
}

export function callingMerchant(request: FastifyRequest): Merchant {
  if (!request.merchant) throw new Error('callingMerchant() used on a route without requireMerchant');
  return request.merchant;
}

const webhookUrl = z.url({ protocol: /^https?$/ }).max(512);

export const orderSchema = z.object({
  id: z.string(),
  merchant_id: z.string(),
  out_trade_no: z.string(),
  amount_fen: z.number(),
  refunded_fen: z.number(),
  description: z.string(),
  status: z.enum(['open', 'paid', 'refunded', 'expired']),
  transaction_id: z.string().nullable(),
  expires_at: z.string(),
  paid_at: z.string().nullable(),
  created_at: z.string(),
});

export function orderToWire(order: Order): z.infer<typeof orderSchema> {
  return {
    id: order.id, merchant_id: order.merchant_id, out_trade_no: order.out_trade_no, amount_fen: Number(order.amount_fen),
    refunded_fen: Number(order.refunded_fen), description: order.description, status: order.status, transaction_id: order.transaction_id,
    expires_at: order.expires_at.toISOString(), paid_at: order.paid_at?.toISOString() ?? null, created_at: order.created_at.toISOString(),
  };
}

const merchantSchema = z.object({ id: z.string(), name: z.string(), code: z.string().describe('The merchant\'s code on receipts and statements'), mcc: z.string(), webhook_url: z.string().nullable(), api_key_last4: z.string(), created_at: z.string() });
function merchantToWire(m: Merchant): z.infer<typeof merchantSchema> {
  return { id: m.id, name: m.name, code: m.code, mcc: m.mcc, webhook_url: m.webhook_url, api_key_last4: m.api_key_last4, created_at: m.created_at.toISOString() };
}

export function registerMerchantRoutes(app: App, accounts: AccountService, merchants: MerchantService, options: { sandbox: boolean }): void {
  const merchantAuth = requireMerchant(merchants);
  const tags = ['merchants'];
  const security = [{ merchant: [] }];

  if (options.sandbox) {
    app.post('/v1/sandbox/merchants', {
      schema: {
        tags: ['sandbox'], summary: 'Onboard a test merchant; the API key and webhook secret are shown only here',
        description: 'Sandbox only. The answer is the only time the API key and the webhook secret are shown; the platform '
          + 'keeps a hash of the key.',
        errors: [errors.webhook_url_forbidden],
        body: z.object({ name: z.string().trim().min(1).max(40), mcc: z.string().regex(/^[0-9]{4}$/, 'a 4-digit merchant category code (ISO 18245)'), webhook_url: webhookUrl.optional() }),
        response: { 201: merchantSchema.extend({ api_key: z.string(), webhook_secret: z.string() }) },
      },
    }, async (request, reply) => {
      const { merchant, apiKey } = await merchants.create({ name: request.body.name, mcc: request.body.mcc, webhookUrl: request.body.webhook_url });
      void reply.code(201);
      return { ...merchantToWire(merchant), api_key: apiKey, webhook_secret: merchant.webhook_secret };
    });
  }

  app.post('/v1/merchants', {
    preHandler: requireSession(accounts),
    schema: {
      tags, security: [{ session: [] }],
      summary: 'Onboard a merchant from the signed-in Mi account; the API key and webhook secret are shown only here',
      description: `At most ${merchantsPerOwnerMax} merchants per account. A webhook URL must reach a public address (422 \`webhook_url_forbidden\`).`,
      body: z.object({
        name: z.string().trim().min(1).max(40).describe('The name customers see'),
        mcc: z.string().regex(/^[0-9]{4}$/, 'a 4-digit merchant category code (ISO 18245)').describe('Merchant category code (ISO 18245)'),
        webhook_url: webhookUrl.optional().describe('Where order events are POSTed, signed'),
      }),
      response: { 201: merchantSchema.extend({ api_key: z.string(), webhook_secret: z.string() }) },
      errors: [errors.merchants_limit, errors.webhook_url_forbidden],
    },
  }, async (request, reply) => {
    const { merchant, apiKey } = await merchants.create({
      name: request.body.name, mcc: request.body.mcc, webhookUrl: request.body.webhook_url, ownerUserId: caller(request).user.id,
    });
    void reply.code(201);
    return { ...merchantToWire(merchant), api_key: apiKey, webhook_secret: merchant.webhook_secret };
  });

  app.get('/v1/merchant', {
    preHandler: merchantAuth,
    schema: { tags, security, summary: 'The calling merchant',
      description: 'The merchant whose API key made the request: name, MCC, webhook endpoint, key\'s last 4.',
      errors: [], response: { 200: merchantSchema } },
  }, async (request) => merchantToWire(callingMerchant(request)));

  app.put('/v1/merchant/webhook', {
    preHandler: merchantAuth,
    schema: { tags, security, summary: 'Set (or clear, with null) the webhook endpoint',
      description: 'Where `order.paid` and `order.refunded` events are POSTed, signed with the webhook secret '
        + '(`Mipay-Signature`); `null` stops deliveries.',
      errors: [errors.webhook_url_forbidden], body: z.object({ url: webhookUrl.nullable() }), response: { 200: merchantSchema } },
  }, async (request) => merchantToWire(await merchants.setWebhookUrl(callingMerchant(request).id, request.body.url)));

  app.post('/v1/merchant/orders', {
    preHandler: merchantAuth,
    schema: {
      tags, security,
      summary: 'Create an order for a customer to pay; repeating the same out_trade_no answers the same order',
      description: 'The same `out_trade_no` with the same amount and description answers the existing order (safe to retry); '
        + 'with another amount or description it is `order_conflict`. An unpaid order expires after `expires_in_s`.',
      errors: [errors.order_conflict],
      body: z.object({
        out_trade_no: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1 to 64 letters, digits, _ or -'),
        amount_fen: z.number().int().positive().max(Number(orderLimits.amountFenMax)),
        description: z.string().trim().min(1).max(128),
        expires_in_s: z.number().int().min(60).max(orderLimits.expiresInSMax).optional(),
      }),
      response: { 200: orderSchema, 201: orderSchema },
    },
  }, async (request, reply) => {
    const b = request.body;
    const { order, created } = await merchants.createOrder(callingMerchant(request).id, {
      outTradeNo: b.out_trade_no, amountFen: BigInt(b.amount_fen), description: b.description, expiresInS: b.expires_in_s,
    });
    void reply.code(created ? 201 : 200);
    return orderToWire(order);
  });

  app.get('/v1/merchant/orders/:id', {
    preHandler: merchantAuth,
    schema: { tags, security, summary: 'One of the merchant\'s orders',
      description: 'One order of the calling merchant by its id (`ord_…`), with what is paid and refunded.',
      errors: [errors.not_found], params: z.object({ id: z.string().min(1).max(64) }), response: { 200: orderSchema } },
  }, async (request) => orderToWire(await merchants.getOrderForMerchant(callingMerchant(request).id, request.params.id)));

  app.get('/v1/merchant/events', {
    preHandler: merchantAuth,
    schema: {
      tags, security, summary: 'Webhook events sent (or still to send) to this merchant, newest first',
      description: 'Each event with its delivery status, attempts and the last HTTP status the endpoint answered.',
      errors: [],
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      response: { 200: z.object({ data: z.array(z.object({ id: z.string(), type: z.string(), status: z.string(), attempts: z.number(), last_response_status: z.number().nullable(), created_at: z.string(), payload: z.string() })) }) },
    },
  }, async (request) => ({
    data: (await merchants.listEvents(callingMerchant(request).id, request.query.limit)).map((e) => ({
      id: e.id, type: e.type, status: e.status, attempts: e.attempts, last_response_status: e.last_response_status, created_at: e.created_at.toISOString(), payload: e.payload,
    })),
  }));

  app.get('/v1/orders/:id', {
    preHandler: requireSession(accounts),
    schema: {
      tags: ['payments'], security: [{ session: [] }], summary: 'An order to pay: merchant, amount, status',
        description: 'What the customer sees before paying: the merchant, the amount, the description and the status.',
        errors: [errors.not_found],
      params: z.object({ id: z.string().min(1).max(64) }),
      response: { 200: orderSchema.extend({ merchant_name: z.string(), merchant_code: z.string(), mcc: z.string() }) },
    },
  }, async (request) => {
    const { order, merchant } = await merchants.getOrder(request.params.id);
    return { ...orderToWire(order), merchant_name: merchant.name, merchant_code: merchant.code, mcc: merchant.mcc };
  });
}
