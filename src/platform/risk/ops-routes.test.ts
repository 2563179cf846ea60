import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { apiClient, openPaymentAccount, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { createTestStaff } from '../staff/test-staff.ts';

/** A PNG header (signature and IHDR) of `width` × `height`, with some data after it: enough for the byte checks. */
function pngLike(width: number, height: number, seed: number): string {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), ihdr, deflateSync(Buffer.alloc(1_000, seed))]).toString('base64');
}

describe('risk ops routes: the review queue for risk reviewers, audited; decisions by rule', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(async () => system.close());

  test('a reviewer sees the queue and the photos (each look audited with its reason) and approves; other roles get 403', async () => {
    const h = await openPaymentAccount(system, { name: '郭一', birthDate: '1990-09-09' });
    assert.equal((await api('POST', '/v1/payment-account/report-lost', { token: h.token, body: { reason: 'freeze_funds' } })).body.status, 'frozen');
    const documents = { id_front: pngLike(800, 500, 1), id_back: pngLike(800, 500, 2), holding_id: pngLike(600, 800, 3) };
    const opened = await api('POST', '/v1/identity-cases', { token: h.token, body: { type: 'unfreeze', documents } });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));

    const agent = await createTestStaff(system, ['support_agent']);
    const denied = await api('GET', '/ops/v1/risk/reviews?reason=checking%20the%20queue', { token: agent.token });
    assert.deepEqual([denied.status, denied.body.error.code], [403, 'staff_role_required']);
    assert.equal((await api('GET', '/ops/v1/risk/reviews?reason=x', { token: h.token })).status, 401);

    const reviewer = await createTestStaff(system, ['risk_reviewer']);
    const noReason = await api('GET', '/ops/v1/risk/reviews', { token: reviewer.token });
    assert.deepEqual([noReason.status, noReason.body.error.param], [400, 'reason']);
    const queue = await api('GET', '/ops/v1/risk/reviews?reason=daily%20review%20shift', { token: reviewer.token });
    assert.equal(queue.status, 200);
    assert.ok(queue.body.data.some((c: { id: string }) => c.id === opened.body.id));

    const look = await api('GET', `/ops/v1/risk/reviews/${opened.body.id}?reason=${encodeURIComponent('unfreeze request of the user')}`, { token: reviewer.token });
    assert.equal(look.status, 200);
    assert.deepEqual(look.body.documents.map((d: { kind: string; data_base64: string }) => [d.kind, d.data_base64]),
      [['id_front', documents.id_front], ['id_back', documents.id_back], ['holding_id', documents.holding_id]]);

    const decided = await api('POST', `/ops/v1/risk/reviews/${opened.body.id}/decision`, {
      token: reviewer.token, body: { decision: 'approve', reason: 'The photos match the holder.' },
    });
    assert.deepEqual([decided.status, decided.body.carried_out], [200, 'payment account unfrozen']);
    const again = await api('POST', `/ops/v1/risk/reviews/${opened.body.id}/decision`, { token: reviewer.token, body: { decision: 'reject', reason: 'no' } });
    assert.equal(again.body.error.code, 'identity_case_decided');
    assert.equal((await api('GET', '/v1/payment-account', { token: h.token })).body.status, 'active');

    const entries = await system.platform.audit.search({ staffId: reviewer.staffId, limit: 50 });
    const actions = entries.map((e) => [e.action, e.reason, e.subject_user_id]);
    assert.ok(actions.some(([a, r]) => a === 'risk.review.list' && r === 'daily review shift'));
    assert.ok(actions.some(([a, r, u]) => a === 'user.identity_proof.read' && r === 'unfreeze request of the user' && u === h.userId));
    assert.ok(actions.some(([a, r, u]) => a === 'risk.review.approve' && r === 'The photos match the holder.' && u === h.userId));
    assert.equal((await system.platform.audit.verify()).breaks.length, 0);
  });

  test('risk decisions by rule per day, for reviewers and compliance', async () => {
    const a = await openPaymentAccount(system, { name: '何一', birthDate: '1990-10-10' });
    const b = await openPaymentAccount(system, { name: '罗二', birthDate: '1990-11-11' });
    assert.equal((await api('POST', '/v1/top-ups', {
      token: a.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: a.cardId, amount_fen: 50_000, payment_password: '135790' },
    })).status, 201);
    const pay = async (deviceId: string) => {
      const confirmation = (await api('POST', '/v1/payee-lookups', { token: a.token, body: { phone: b.phone } })).body.confirmation;
      return api('POST', '/v1/transfers', {
        token: a.token, headers: { 'idempotency-key': randomUUID(), 'mipay-device-id': deviceId },
        body: { payee_confirmation: confirmation, amount_fen: 20_000, payment_password: '135790' },
      });
    };
    assert.equal((await pay('phone-a')).status, 201);
    assert.equal((await pay('phone-b')).body.error.code, 'risk_step_up_required');

    const compliance = await createTestStaff(system, ['compliance_officer']);
    const day = new Date(system.clock.now().getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
    const chart = await api('GET', `/ops/v1/risk/decisions/by-rule?from=${day}&to=${day}`, { token: compliance.token });
    assert.equal(chart.status, 200, JSON.stringify(chart.body));
    const row = chart.body.data.find((r: { rule: string; enforced: string }) => r.rule === 'new_device_payment' && r.enforced === 'refused');
    assert.ok(row && row.count >= 1 && row.day === day && row.level === 'step_up');
    const tooLong = await api('GET', '/ops/v1/risk/decisions/by-rule?from=2026-01-01&to=2026-12-31', { token: compliance.token });
    assert.equal(tooLong.status, 400);
  });
});
