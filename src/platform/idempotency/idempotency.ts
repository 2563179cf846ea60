import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { App } from '../../infra/http/server.ts';
import { errors } from '../errors.ts';
import '../merchants/routes.ts';
import type { PlatformTables } from '../tables.ts';

/**
 * Idempotency-Key on money-moving POSTs (Stripe's convention): the first response to a key is
 * kept for 24 hours and replayed to every retry with the same body; the same key with another
 * body is refused (422); a retry while the first is still running is refused (409).
 *
 * A request that started and never finished (its process died) holds its key until the key
 * expires: retries are told 409 meanwhile and never run a second time, because the first run
 * may have moved money. Its transaction is finished by PendingSettlement and shows in the
 * history.
 */
export const idempotencyPolicy = {
  header: 'idempotency-key',
  keyPattern: /^[\x21-\x7e]{8,255}$/,
  retentionMs: 24 * 3_600_000,
} as const;

interface IdempotencyContext {
  userId: string;
  key: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: IdempotencyContext;
  }
}

/** A stable digest of what the request asks: method, route, path parameters and body. */
export function requestHash(request: FastifyRequest): string {
  const canonical = JSON.stringify([request.method, request.routeOptions.url, request.params ?? {}, sortKeys(request.body ?? null)]);
  return createHash('sha256').update(canonical).digest('hex');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

export class Idempotency {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;

  constructor(db: Kysely<PlatformTables>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  /**
   * Installs the hook that stores each idempotent route's response. Routes opt in by putting
   * `idempotency.preHandler` after their authentication preHandler.
   */
  register(app: App): void {
    app.addHook('onSend', async (request, reply, payload) => {
      const context = request.idempotency;
      if (!context) return payload;
      request.idempotency = undefined;
      if (reply.statusCode >= 500) {
        // Nothing is known to have happened: release the key so a retry runs again.
        await this.#db.deleteFrom('idempotency_keys').where('user_id', '=', context.userId).where('key', '=', context.key)
          .where('status', '=', 'in_progress').execute();
        return payload;
      }
      await this.#db.updateTable('idempotency_keys')
        .set({ status: 'completed', response_status: reply.statusCode, response_body: typeof payload === 'string' ? payload : JSON.stringify(payload) })
        .where('user_id', '=', context.userId).where('key', '=', context.key).execute();
      return payload;
    });
  }

  /** The preHandler of an idempotent route: claims the key, or replays / refuses. Needs `request.auth`. */
  readonly preHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    // Keys belong to their caller: a user, or a merchant (kept apart by the prefix).
    const userId = request.auth?.user.id ?? (request.merchant ? `merchant:${request.merchant.id}` : undefined);
    if (!userId) throw new Error('the idempotency preHandler runs after authentication');
    const header = request.headers[idempotencyPolicy.header];
    const key = typeof header === 'string' ? header : undefined;
    if (!key || !idempotencyPolicy.keyPattern.test(key)) {
      throw errors.parameter_invalid('Money-moving requests need an Idempotency-Key header: 8 to 255 printable characters, unique per operation (e.g. a UUID).', 'Idempotency-Key');
    }
    const now = this.#clock();
    const hash = requestHash(request);
    const claimed = await this.#db.insertInto('idempotency_keys')
      .values({
        user_id: userId, key, request_hash: hash, status: 'in_progress', response_status: null, response_body: null, created_at: now,
        locked_until: new Date(now.getTime() + idempotencyPolicy.retentionMs), expires_at: new Date(now.getTime() + idempotencyPolicy.retentionMs),
      })
      .onConflict((oc) => oc.columns(['user_id', 'key']).doUpdateSet({
        // Only an expired record is taken over; anything else is left alone.
        request_hash: hash, status: 'in_progress', response_status: null, response_body: null, created_at: now,
        locked_until: new Date(now.getTime() + idempotencyPolicy.retentionMs), expires_at: new Date(now.getTime() + idempotencyPolicy.retentionMs),
      }).where('idempotency_keys.expires_at', '<=', now))
      .returning('key')
      .executeTakeFirst();
    if (claimed) {
      request.idempotency = { userId, key };
      return undefined;
    }
    const existing = await this.#db.selectFrom('idempotency_keys').selectAll().where('user_id', '=', userId).where('key', '=', key).executeTakeFirstOrThrow();
    if (existing.request_hash !== hash) {
      throw errors.idempotency_key_reused('This Idempotency-Key was used with a different request; use a new key for a new operation.', 'Idempotency-Key');
    }
    if (existing.status === 'in_progress') {
      throw errors.idempotency_request_in_progress('A request with this Idempotency-Key is still being processed; retry in a moment.', 'Idempotency-Key');
    }
    // Returning the reply ends the request here: the handler must not run a second time.
    return reply.code(existing.response_status ?? 200).header('idempotent-replayed', 'true').header('content-type', 'application/json; charset=utf-8')
      .send(existing.response_body);
  };
}
