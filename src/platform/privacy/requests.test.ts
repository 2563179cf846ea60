import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';

describe('privacy: requests with a 15-working-day clock', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  const moveClockTo = (at: string) => system.clock.advance(Date.parse(at) - system.clock.now().getTime());

  test('the deadline skips the National Day holiday and counts the adjusted Saturday; refusals carry a policy reason; overdue is flagged', async () => {
    moveClockTo('2026-09-30T10:00:00+08:00');
    const { token } = await signUpAndLogIn(system);
    const beforeHoliday = await api('POST', '/v1/privacy/requests', { token, body: { kind: 'correction', details: 'My address changed' } });
    assert.equal(beforeHoliday.status, 201, JSON.stringify(beforeHoliday.body));
    // 1–7 October are holidays; Saturday 10 October is a working day: 8, 9, 10, 12–16, 19–23, 26, 27.
    assert.deepEqual([beforeHoliday.body.due_date, beforeHoliday.body.due_at, beforeHoliday.body.calendar_covered, beforeHoliday.body.overdue],
      ['2026-10-27', '2026-10-27T15:59:59.999Z', true, false]);

    moveClockTo('2026-10-09T16:00:00+08:00');
    const onFriday = await api('POST', '/v1/privacy/requests', { token, body: { kind: 'deletion', details: 'Delete my door card backups' } });
    // Day 1 is the adjusted Saturday 10 October; without it the deadline would be 30 October.
    assert.equal(onFriday.body.due_date, '2026-10-29');
    // After 16:00 UTC it is already the next day in China: received Saturday 10 October (a working day itself, not counted).
    moveClockTo('2026-10-09T16:30:00Z');
    const lateFriday = await api('POST', '/v1/privacy/requests', { token, body: { kind: 'complaint', details: 'Late complaint' } });
    assert.equal(lateFriday.body.due_date, '2026-10-30');

    const requests = system.platform.privacy.requests;
    await assert.rejects(requests.answer(onFriday.body.id, { status: 'refused', reason: 'because' as never }), /one of the policy's reasons/);
    await requests.answer(onFriday.body.id, { status: 'refused', reason: 'legal_retention', answer: 'AML records are kept 10 years.' });
    await assert.rejects(requests.answer(onFriday.body.id, { status: 'completed', answer: 'again' }), /already answered/);
    const refused = await api('GET', `/v1/privacy/requests/${onFriday.body.id}`, { token });
    assert.deepEqual([refused.body.status, refused.body.refusal_reason, refused.body.overdue], ['refused', 'legal_retention', false]);

    moveClockTo('2026-10-27T23:59:00+08:00');
    assert.equal((await api('GET', `/v1/privacy/requests/${beforeHoliday.body.id}`, { token })).body.overdue, false, 'due until the end of the day in China');
    moveClockTo('2026-10-28T00:00:01+08:00');
    const late = await api('GET', '/v1/privacy/requests', { token });
    const byId = new Map(late.body.data.map((r: { id: string; overdue: boolean }) => [r.id, r.overdue]));
    assert.deepEqual([byId.get(beforeHoliday.body.id), byId.get(onFriday.body.id), byId.get(lateFriday.body.id)], [true, false, false]);
    const overdue = await requests.overdue();
    assert.ok(overdue.some((r) => r.id === beforeHoliday.body.id) && !overdue.some((r) => r.id === onFriday.body.id));

    const bad = await api('POST', '/v1/privacy/requests', { token, body: { kind: 'erase_everything', details: 'x' } });
    assert.deepEqual([bad.status, bad.body.error.param], [400, 'kind']);
    const other = await signUpAndLogIn(system);
    assert.equal((await api('GET', `/v1/privacy/requests/${beforeHoliday.body.id}`, { token: other.token })).status, 404);
  });
});
