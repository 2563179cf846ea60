import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TestClock } from '../../cli/test-system.ts';
import { migrateSchema, type Database } from '../../infra/db/database.ts';
import { openTestDatabase } from '../../infra/db/test-database.ts';
import { createHttpApp, type App } from '../../infra/http/server.ts';
import { createLogger } from '../../infra/log/logger.ts';
import { errors } from '../errors.ts';
import { platformMigrations, platformSchema } from '../migrations/index.ts';
import { Idempotency, idempotencyPolicy } from './idempotency.ts';

/**
 * The mechanism on a route of its own: a "charge" whose side effect is counted, behind the
 * idempotency preHandler, on the real database.
 */
describe('Idempotency-Key', () => {
  let database: Database;
  let app: App;
  const clock = new TestClock();
  const charges: number[] = [];
  let release: (() => void) | undefined;

  before(async () => {
    database = await openTestDatabase();
    await migrateSchema(database, platformSchema, platformMigrations);
    const idempotency = new Idempotency(database.forSchema(platformSchema), clock.now);
    app = await createHttpApp({ party: 'test', title: 't', description: 'd', version: '0', logger: createLogger({ name: 't', destination: new Writable({ write(_c, _e, done) { done(); } }) }) });
    idempotency.register(app);
    const fakeAuth = async (request: FastifyRequest) => {
      request.auth = { user: { id: String(request.headers['x-user']) } } as never;
    };
    app.post('/v1/charges', {
      preHandler: [fakeAuth, idempotency.preHandler],
      schema: { body: z.object({ amount_fen: z.number().int() }) },
    }, async (request, reply) => {
      if (request.body.amount_fen <= 0) throw errors.parameter_invalid('amount must be positive', 'amount_fen');
      if (request.body.amount_fen === 500) throw new Error('the bank exploded');
      if (request.body.amount_fen === 777) await new Promise<void>((resolve) => { release = resolve; });
      charges.push(request.body.amount_fen);
      void reply.code(201);
      return { charge: charges.length, amount_fen: request.body.amount_fen };
    });
    await app.ready();
  });
  after(async () => { await app.close(); await database.close(); });

  const charge = (key: string | undefined, amountFen: number, user = 'usr_a') => app.inject({
    method: 'POST', url: '/v1/charges', payload: { amount_fen: amountFen },
    headers: { 'x-user': user, ...(key ? { [idempotencyPolicy.header]: key } : {}) },
  });

  test('same key and body: one side effect, the same response replayed', async () => {
    const before = charges.length;
    const first = await charge('key-00000001', 100);
    const second = await charge('key-00000001', 100);
    assert.equal(first.statusCode, 201);
    assert.deepEqual([second.statusCode, second.json(), second.headers['idempotent-replayed']], [201, first.json(), 'true']);
    assert.equal(charges.length, before + 1);
    // Keys belong to their caller: another user's identical key is a new operation.
    assert.equal((await charge('key-00000001', 100, 'usr_b')).headers['idempotent-replayed'], undefined);
  });

  test('same key, other body: 422; no key or a malformed key: 400', async () => {
    await charge('key-00000002', 100);
    const other = await charge('key-00000002', 101);
    assert.deepEqual([other.statusCode, other.json().error.code, other.json().error.param], [422, 'idempotency_key_reused', 'Idempotency-Key']);
    const none = await charge(undefined, 100);
    assert.deepEqual([none.statusCode, none.json().error.param], [400, 'Idempotency-Key']);
    assert.equal((await charge('short', 100)).statusCode, 400);
  });

  test('a refusal is kept and replayed too; a server failure is not, so a retry runs again', async () => {
    const refused = await charge('key-00000003', -1);
    assert.equal(refused.statusCode, 400);
    assert.deepEqual((await charge('key-00000003', -1)).json(), refused.json());
    const before = charges.length;
    assert.equal((await charge('key-00000004', 500)).statusCode, 500);
    const row = await database.forSchema<any>('platform').selectFrom('idempotency_keys').selectAll().where('key', '=', 'key-00000004').executeTakeFirst();
    assert.equal(row, undefined);
    assert.equal(charges.length, before);
  });

  test('20 concurrent requests with one key: one side effect; the others wait their turn (409) or replay', async () => {
    const before = charges.length;
    const pending = charge('key-00000005', 777);
    while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
    const racing = await Promise.all(Array.from({ length: 19 }, () => charge('key-00000005', 777)));
    assert.ok(racing.every((r) => r.statusCode === 409 && r.json().error.code === 'idempotency_request_in_progress'));
    release();
    const first = await pending;
    assert.equal(first.statusCode, 201);
    const later = await Promise.all(Array.from({ length: 5 }, () => charge('key-00000005', 777)));
    assert.ok(later.every((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === 'true'));
    assert.equal(charges.length, before + 1);
    release = undefined;
  });

  test('after 24 hours a key is forgotten', async () => {
    await charge('key-00000006', 100);
    clock.advance(idempotencyPolicy.retentionMs + 1);
    const again = await charge('key-00000006', 100);
    assert.equal(again.headers['idempotent-replayed'], undefined);
  });
});
