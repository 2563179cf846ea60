import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import type { PlatformTables } from '../tables.ts';
import type { RiskEngine } from './engine.ts';

const operationSchema = z.object({
  id: z.string().describe('The log entry\'s id (rop_…)'),
  operation: z.string().describe('What was done: login, payment, transfer, top_up, withdrawal, card_add, device_card_provision, …'),
  outcome: z.enum(['succeeded', 'failed', 'failed_password', 'refused']).describe('How it ended; `refused` when a security check stopped it'),
  amount_fen: z.number().nullable().describe('The amount in fen, for money movements'),
  device: z.object({
    id: z.string().nullable().describe('The device id the phone reported (`Mipay-Device-Id`)'),
    model: z.string().nullable().describe('The phone model it reported (`Mipay-Device-Model`)'),
    os_version: z.string().nullable().describe('The OS version it reported (`Mipay-Os-Version`)'),
  }).describe('The phone the request came from, as it reported itself'),
  network_type: z.string().describe('The network the phone said it was on (`Mipay-Network-Type`), or `unknown`'),
  ip: z.string().nullable().describe('The IP address the request came from'),
  region: z.object({
    country: z.string().nullable().describe('Country, from an offline IP database'), province: z.string().nullable().describe('Province (China) or country'),
    city: z.string().nullable().describe('City, when known'),
  }).describe('Where the IP address is, from an offline database (nothing for private addresses)'),
  created_at: z.string().describe('When it happened (ISO 8601)'),
});

/** The user's own operation log: what was done from where, for the user center and the export. */
export function registerRiskRoutes(app: App, deps: { accounts: AccountService; db: Kysely<PlatformTables>; engine: RiskEngine }): void {
  const session = requireSession(deps.accounts);
  app.get('/v1/risk/operations', {
    preHandler: session,
    schema: {
      security: [{ session: [] }], tags: ['risk'], summary: 'The account\'s operation log, newest first, by cursor',
      description: 'Every important operation (log in, pay, transfer, top up, withdraw, add a card or a device card, change the payment '
        + 'password, register a device) with the device, network, IP and region it came from. Kept as the privacy policy says.',
      errors: [],
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(20).describe('Entries per page (1–100)'),
        starting_after: z.string().max(64).optional().describe('The last `id` of the previous page'),
      }),
      response: { 200: z.object({ data: z.array(operationSchema), has_more: z.boolean().describe('Whether another page follows') }) },
    },
  }, async (request) => {
    const userId = caller(request).user.id;
    await deps.engine.flush();
    let query = deps.db.selectFrom('risk_operations').selectAll().where('user_id', '=', userId);
    if (request.query.starting_after) {
      const after = await deps.db.selectFrom('risk_operations').select(['created_at', 'id']).where('user_id', '=', userId)
        .where('id', '=', request.query.starting_after).executeTakeFirst();
      if (after) {
        query = query.where((eb) => eb.or([
          eb('created_at', '<', after.created_at), eb.and([eb('created_at', '=', after.created_at), eb('id', '<', after.id)]),
        ]));
      }
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(request.query.limit + 1).execute();
    return {
      data: rows.slice(0, request.query.limit).map((r) => ({
        id: r.id, operation: r.operation, outcome: r.outcome, amount_fen: r.amount_fen === null ? null : Number(r.amount_fen),
        device: { id: r.device_id, model: r.device_model, os_version: r.os_version }, network_type: r.network_type ?? 'unknown', ip: r.ip,
        region: { country: r.country, province: r.region, city: r.city }, created_at: r.created_at.toISOString(),
      })),
      has_more: rows.length > request.query.limit,
    };
  });
}
