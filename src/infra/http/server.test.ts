import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { z } from 'zod';
import { createLogger } from '../log/logger.ts';
import { commonErrors } from './errors.ts';
import { createHttpApp } from './server.ts';

async function makeApp(healthy = true) {
  const logger = createLogger({ name: 't', destination: new Writable({ write(_c, _e, done) { done(); } }) });
  const app = await createHttpApp({
    party: 'test', title: 'Test API', description: 'd', version: '1.2.3', logger,
    healthChecks: { database: async () => { if (!healthy) throw new Error('down'); } },
  });
  app.post('/v1/echo', { schema: { body: z.object({ amount_fen: z.number().int().positive(), note: z.string().max(5).optional() }) } }, async (request) => request.body);
  app.get('/v1/limited', async () => { throw commonErrors.rate_limited('slow down', 'phone', { retry_after_s: 42 }); });
  app.get('/v1/boom', async () => { throw new Error('database password is hunter2'); });
  await app.ready();
  return app;
}

test('errors have one shape and name the field', async () => {
  const app = await makeApp();
  const bad = await app.inject({ method: 'POST', url: '/v1/echo', payload: { amount_fen: -5 } });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(Object.keys(bad.json().error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(bad.json().error.param, 'amount_fen');
  assert.equal(bad.json().error.type, 'invalid_request_error');
  const tooLong = await app.inject({ method: 'POST', url: '/v1/echo', payload: { amount_fen: 5, note: 'far too long' } });
  assert.equal(tooLong.json().error.param, 'note');
  const missing = await app.inject({ method: 'POST', url: '/v1/echo', payload: {} });
  assert.equal(missing.json().error.param, 'amount_fen');
  const notFound = await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
  assert.deepEqual([notFound.statusCode, notFound.json().error.code], [404, 'not_found']);
  const limited = await app.inject({ method: 'GET', url: '/v1/limited' });
  assert.deepEqual([limited.statusCode, limited.headers['retry-after'], limited.json().error.retry_after_s], [429, '42', 42]);
  const boom = await app.inject({ method: 'GET', url: '/v1/boom' });
  assert.equal(boom.statusCode, 500);
  assert.equal(boom.json().error.code, 'internal_error');
  assert.equal(boom.body.includes('hunter2'), false, 'internal details never reach the client');
  await app.close();
});

test('request ids: a well-formed caller id is kept, anything else replaced', async () => {
  const app = await makeApp();
  const kept = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-abc_123' } });
  assert.equal(kept.headers['x-request-id'], 'trace-abc_123');
  const replaced = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id with spaces\n' } });
  assert.match(String(replaced.headers['x-request-id']), /^req_[0-9a-f]{32}$/);
  await app.close();
});

test('/healthz, /metrics, /openapi.json and /docs', async () => {
  const app = await makeApp();
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  assert.deepEqual(health.json(), { status: 'ok', party: 'test', checks: { database: 'ok' } });
  await app.inject({ method: 'POST', url: '/v1/echo', payload: { amount_fen: 1 } });
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /http_request_duration_seconds_count\{party="test",method="POST",route="\/v1\/echo",status="200"\} 1/);
  const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.equal(openapi.info.version, '1.2.3');
  assert.ok(openapi.paths['/v1/echo'].post.requestBody);
  assert.equal(openapi.paths['/healthz'], undefined);
  assert.equal((await app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200);
  await app.close();

  const sick = await makeApp(false);
  const failing = await sick.inject({ method: 'GET', url: '/healthz' });
  assert.deepEqual([failing.statusCode, failing.json().checks.database], [503, 'failing']);
  await sick.close();
});

test('a wrong method on a path that exists is 405 with Allow; the right method still works', async () => {
  const app = await makeApp();
  const wrong = await app.inject({ method: 'PUT', url: '/v1/echo' });
  assert.equal(wrong.statusCode, 405);
  assert.equal(wrong.headers.allow, 'POST');
  assert.equal(wrong.json().error.code, 'method_not_allowed');
  assert.match(wrong.json().error.message, /takes POST/);
  const zh = await app.inject({ method: 'DELETE', url: '/v1/limited', headers: { 'accept-language': 'zh-CN,zh;q=0.9' } });
  assert.deepEqual([zh.statusCode, zh.headers.allow], [405, 'GET, HEAD']);
  assert.match(zh.json().error.message, /不支持 DELETE/);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/nowhere' })).statusCode, 404);
  await app.close();
});

test('a body that is not JSON is 415 naming application/json; validation speaks in fen and yuan, in English or Chinese', async () => {
  const app = await makeApp();
  const plain = await app.inject({ method: 'POST', url: '/v1/echo', headers: { 'content-type': 'text/plain' }, payload: 'amount=5' });
  assert.equal(plain.statusCode, 415);
  assert.equal(plain.json().error.code, 'unsupported_media_type');
  assert.match(plain.json().error.message, /Content-Type: application\/json/);
  const fraction = await app.inject({ method: 'POST', url: '/v1/echo', payload: { amount_fen: 23.5 } });
  assert.deepEqual([fraction.json().error.param, fraction.json().error.message],
    ['amount_fen', '`amount_fen` must be a whole number of fen (1 yuan = 100 fen), e.g. 2350 for ¥23.50.']);
  const zero = await app.inject({ method: 'POST', url: '/v1/echo', payload: { amount_fen: 0 } });
  assert.equal(zero.json().error.message, '`amount_fen` must be at least ¥0.01 (1 fen).');
  const missing = await app.inject({ method: 'POST', url: '/v1/echo', payload: {}, headers: { 'accept-language': 'zh' } });
  assert.equal(missing.json().error.message, '缺少必填字段 `amount_fen`。');
  const long = await app.inject({ method: 'POST', url: '/v1/echo', payload: { amount_fen: 1, note: 'far too long' } });
  assert.equal(long.json().error.message, '`note` must be at most 5 characters.');
  const noBody = await app.inject({ method: 'POST', url: '/v1/echo' });
  assert.match(noBody.json().error.message, /needs a JSON body/);
  await app.close();
});

test('the error contract: a refusal a route did not declare, or a param that is not its field, is recorded', async () => {
  const app = await makeApp();
  await app.inject({ method: 'GET', url: '/v1/limited' });
  assert.deepEqual(app.errorContract.violations, [
    { method: 'GET', route: '/v1/limited', kind: 'undeclared_code', code: 'rate_limited' },
    { method: 'GET', route: '/v1/limited', kind: 'param_not_a_field', code: 'rate_limited', param: 'phone' },
  ]);
  const before = app.errorContract.violations.length;
  await app.inject({ method: 'POST', url: '/v1/echo', payload: { amount_fen: 0 } });
  assert.equal(app.errorContract.violations.length, before, 'parameter_invalid on amount_fen is implied by the body schema');
  assert.ok(app.errorContract.undeclaredRoutes.includes('POST /v1/echo'), 'a documented route without `errors` is listed');
  await app.close();
});
