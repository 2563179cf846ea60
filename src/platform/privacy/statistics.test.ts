import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { chinaDate } from '../../infra/calendar/working-days.ts';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';

let system: TestSystem;
before(async () => { system = await startTestSystem(); });
after(() => system.close());

test('daily aggregates and /metrics count without naming anyone', async () => {
  const api = apiClient(system.platform.app);
  const a = await signUpAndLogIn(system);
  const b = await signUpAndLogIn(system);
  for (const kind of ['access', 'complaint']) {
    assert.equal((await api('POST', '/v1/privacy/requests', { token: a.token, body: { kind, details: 'statistics' } })).status, 201);
  }
  const refused = await api('POST', '/v1/privacy/requests', { token: b.token, body: { kind: 'deletion', details: 'statistics' } });
  system.clock.advance(90_000);
  await system.platform.privacy.requests.answer(refused.body.id, { status: 'refused', reason: 'legal_retention' });
  const day = chinaDate(system.clock.now());
  const metrics = await system.platform.privacy.statistics.aggregateDay(day);
  assert.ok(metrics.sign_ups! >= 2n);
  assert.ok(metrics.privacy_requests_received! >= 3n && metrics.privacy_requests_refused! >= 1n);
  assert.ok(metrics.privacy_request_answer_seconds_avg! >= 90n);
  await system.platform.privacy.statistics.aggregateDay(day);
  const db = system.database.forSchema('platform');
  const { rows } = await sql<{ day: string; metric: string; value: string }>`select day, metric, value::text from platform.daily_aggregates where day = ${day}`.execute(db);
  assert.equal(rows.length, Object.keys(metrics).length, 'computing again replaces the day');
  const all = JSON.stringify(rows);
  for (const id of [a.userId, b.userId, a.phone, b.phone]) assert.ok(!all.includes(id), 'no identifier');
  const columns = (await sql<{ column_name: string }>`select column_name from information_schema.columns
    where table_schema = 'platform' and table_name = 'daily_aggregates'`.execute(db)).rows.map((r) => r.column_name).sort();
  assert.deepEqual(columns, ['computed_at', 'day', 'metric', 'value']);

  const scrape = await system.platform.app.inject({ method: 'GET', url: '/metrics' });
  assert.match(scrape.body, /mipay_privacy_requests_open\{[^}]*kind="access"[^}]*overdue="false"[^}]*\} [1-9]/);
  assert.ok(!scrape.body.includes(a.userId) && !scrape.body.includes(a.phone));
});
