import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, openPaymentAccount, residentIdFor, signUpAndLogIn, startTestSystem, type AccountHolder, type TestSystem } from '../../cli/test-system.ts';
import { createLogger } from '../../infra/log/logger.ts';
import { platformSchema } from '../migrations/index.ts';
import { StaffAudit } from '../staff/audit.ts';
import { createTestStaff, type TestStaff } from '../staff/test-staff.ts';
import { Complaints } from './complaints.ts';

describe('customer service, complaints and the ops API', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  let holder: AccountHolder;
  let miNumber: string;
  let agent: TestStaff;
  let reviewer: TestStaff;
  let compliance: TestStaff;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
    holder = await openPaymentAccount(system, { name: '吴一' });
    miNumber = (await api('GET', '/v1/account', { token: holder.token })).body.mi_number;
    agent = await createTestStaff(system, ['support_agent']);
    reviewer = await createTestStaff(system, ['risk_reviewer']);
    compliance = await createTestStaff(system, ['compliance_officer']);
  });
  after(() => system.close());

  const auditedFor = async (userId: string) => (await system.platform.audit.search({ subjectUserId: userId, limit: 200 })).map((e) => `${e.action}|${e.staff_id}|${e.reason ?? ''}`);

  test('a ticket round trip: the user opens, the agent reads, notes and replies; the user sees the reply, not the note', async () => {
    const opened = await api('POST', '/v1/support/tickets', { token: holder.token, body: { subject: 'Top-up missing', body: 'My top-up of ¥50 is not in my balance.' } });
    assert.equal(opened.status, 201);
    const id: string = opened.body.id;

    assert.equal((await api('GET', '/ops/v1/tickets', { token: reviewer.token })).body.error.code, 'staff_role_required', 'a risk reviewer is no agent');
    const list = await api('GET', '/ops/v1/tickets?status=open', { token: agent.token });
    assert.ok(list.body.data.some((t: { id: string }) => t.id === id));
    assert.equal((await api('GET', `/ops/v1/tickets/${id}`, { token: agent.token })).body.ticket.user_id, holder.userId);
    assert.equal((await api('POST', `/ops/v1/tickets/${id}/notes`, { token: agent.token, body: { body: 'Bank settlement lag, check tomorrow' } })).status, 201);
    assert.equal((await api('POST', `/ops/v1/tickets/${id}/replies`, { token: agent.token, body: { body: 'We are checking with the bank.' } })).status, 201);

    const seen = await api('GET', `/v1/support/tickets/${id}`, { token: holder.token });
    assert.equal(seen.body.ticket.status, 'waiting_on_user');
    assert.deepEqual(seen.body.messages.map((m: { kind: string }) => m.kind), ['user_message', 'staff_reply']);
    assert.equal(JSON.stringify(seen.body).includes('settlement lag'), false, 'internal notes stay internal');
    assert.equal((await api('POST', `/v1/support/tickets/${id}/messages`, { token: holder.token, body: { body: 'Thanks' } })).status, 201);
    assert.equal((await api('GET', `/v1/support/tickets/${id}`, { token: holder.token })).body.ticket.status, 'open');

    assert.equal((await api('PUT', `/ops/v1/tickets/${id}/status`, { token: agent.token, body: { status: 'closed' } })).body.status, 'closed');
    const late = await api('POST', `/v1/support/tickets/${id}/messages`, { token: holder.token, body: { body: 'One more thing' } });
    assert.deepEqual([late.status, late.body.error.code], [409, 'ticket_closed']);
    // Another user cannot see it.
    const other = await signUpAndLogIn(system);
    assert.equal((await api('GET', `/v1/support/tickets/${id}`, { token: other.token })).status, 404);
  });

  test('an agent checks a caller\'s identity (match or no match only) before opening a ticket for them', async () => {
    const caller = { mi_number: miNumber, name: '吴一', phone: holder.phone, id_number: holder.idNumber };
    const noCheck = await api('POST', '/ops/v1/tickets', { token: agent.token, body: { identity_check_id: 'idc_none', subject: 's', body: 'b' } });
    assert.deepEqual([noCheck.status, noCheck.body.error.code], [403, 'identity_check_required']);

    const wrongId = await api('POST', '/ops/v1/identity-checks', { token: agent.token, body: { ...caller, id_number: residentIdFor('1985-05-05') } });
    assert.deepEqual(Object.keys(wrongId.body).sort(), ['identity_check_id', 'matched']);
    assert.equal(wrongId.body.matched, false);
    const wrongName = await api('POST', '/ops/v1/identity-checks', { token: agent.token, body: { ...caller, name: '吴二' } });
    assert.equal(wrongName.body.matched, false);
    const refused = await api('POST', '/ops/v1/tickets', { token: agent.token, body: { identity_check_id: wrongId.body.identity_check_id, subject: 's', body: 'b' } });
    assert.equal(refused.body.error.code, 'identity_check_required');

    const right = await api('POST', '/ops/v1/identity-checks', { token: agent.token, body: caller });
    assert.equal(right.body.matched, true);
    const otherAgent = await createTestStaff(system, ['support_agent']);
    const notYours = await api('POST', '/ops/v1/tickets', { token: otherAgent.token, body: { identity_check_id: right.body.identity_check_id, subject: 's', body: 'b' } });
    assert.equal(notYours.body.error.code, 'identity_check_required', 'a check is the agent\'s own');
    const opened = await api('POST', '/ops/v1/tickets', {
      token: agent.token, body: { identity_check_id: right.body.identity_check_id, subject: 'Phone call: lost phone', body: 'You called about your lost phone.' },
    });
    assert.deepEqual([opened.status, opened.body.user_id, opened.body.opened_by], [201, holder.userId, 'agent']);
    assert.ok((await api('GET', '/v1/support/tickets', { token: holder.token })).body.data.some((t: { id: string }) => t.id === opened.body.id));

    // Three failures so far this hour on this account (two above, none matched); two more and checks of it stop.
    await api('POST', '/ops/v1/identity-checks', { token: agent.token, body: { ...caller, phone: '13900000000' } });
    await api('POST', '/ops/v1/identity-checks', { token: agent.token, body: { ...caller, phone: '13900000001' } });
    await api('POST', '/ops/v1/identity-checks', { token: agent.token, body: { ...caller, phone: '13900000002' } });
    const limited = await api('POST', '/ops/v1/identity-checks', { token: agent.token, body: caller });
    assert.deepEqual([limited.status, limited.body.error.code], [429, 'rate_limited']);
  });

  test('an agent looks up a user\'s transactions only with a reason, and every staff read of user data is in the audit log', async () => {
    const noReason = await api('GET', `/ops/v1/users/${holder.userId}/transactions`, { token: agent.token });
    assert.deepEqual([noReason.status, noReason.body.error.param], [400, 'reason']);
    assert.equal((await api('GET', `/ops/v1/users/${holder.userId}/transactions?reason=x`, { token: reviewer.token })).status, 403);
    const reason = 'ticket about a missing top-up';
    const looked = await api('GET', `/ops/v1/users/${holder.userId}/transactions?reason=${encodeURIComponent(reason)}&limit=10`, { token: agent.token });
    assert.equal(looked.status, 200);
    assert.ok(Array.isArray(looked.body.data));

    const trail = await auditedFor(holder.userId);
    assert.ok(trail.includes(`user.transactions.read|${agent.staffId}|${reason}`));
    for (const action of ['ticket.read', 'ticket.note', 'ticket.reply', 'ticket.status', 'user.identity.check', 'ticket.open_for_user']) {
      assert.ok(trail.some((line) => line.startsWith(`${action}|${agent.staffId}|`)), `${action} is audited`);
    }
    // The audit-log search is for compliance and admins, and is itself audited.
    assert.equal((await api('GET', '/ops/v1/audit-log', { token: agent.token })).status, 403);
    const search = await api('GET', `/ops/v1/audit-log?user_id=${holder.userId}&action=user.transactions.read`, { token: compliance.token });
    assert.equal(search.status, 200);
    assert.deepEqual(search.body.data.map((e: { reason: string }) => e.reason), [reason]);
    assert.equal((await system.platform.audit.search({ staffId: compliance.staffId, action: 'audit_log.search', limit: 5 })).length, 1);
  });

  test('a complaint is due 15 working days after receipt, counted across the National Day holiday', async () => {
    // The service itself on this database, with a clock on Monday 28 September 2026 (Beijing).
    const at = new Date('2026-09-28T10:00:00+08:00');
    const db = system.database.forSchema(platformSchema);
    const complaints = new Complaints({
      db, audit: new StaffAudit(db, () => at), paymentAccounts: system.platform.paymentAccounts, clock: () => at, logger: createLogger({ name: 't', level: 'silent' }),
    });
    const complaint = await complaints.file({ userId: holder.userId, content: 'A refund never arrived after 10 days.' });
    // 29, 30 Sep; 1–7 Oct is the holiday; 8, 9, 10 (an adjusted Saturday workday), 12–16, 19–23 Oct: the 15th is 23 Oct, not 19 Oct.
    assert.equal(complaint.due_date, '2026-10-23');
    assert.equal(complaint.due_at.toISOString(), '2026-10-23T15:59:59.999Z');
    assert.equal(complaint.calendar_covered, true);
  });

  test('complaints escalate before the deadline, are answered once, and export exactly the regulator\'s four fields (audited)', async () => {
    const filed = await api('POST', '/v1/complaints', { token: holder.token, body: { content: 'The merchant charged me twice for one order.' } });
    assert.equal(filed.status, 201);
    const id: string = filed.body.id;
    assert.equal(filed.body.contact, holder.phone);

    assert.equal((await system.platform.complaints.escalate()).dueSoon, 0);
    const dueAt = new Date((await api('GET', `/ops/v1/complaints/${id}`, { token: agent.token })).body.due_at).getTime();
    system.clock.advance(dueAt - system.clock.now().getTime() - 3_600_000);
    assert.ok((await system.platform.complaints.escalate()).dueSoon >= 1);
    // Weeks passed: staff sessions ended (8 hours at most); they log in again.
    agent = await createTestStaff(system, ['support_agent']);
    compliance = await createTestStaff(system, ['compliance_officer']);
    const soon = await api('GET', '/ops/v1/complaints?due=due_soon', { token: compliance.token });
    assert.ok(soon.body.data.some((c: { id: string; escalation: string }) => c.id === id && c.escalation === 'due_soon'));
    system.clock.advance(2 * 3_600_000);
    assert.ok((await system.platform.complaints.escalate()).overdue >= 1);
    agent = await createTestStaff(system, ['support_agent']);
    compliance = await createTestStaff(system, ['compliance_officer']);
    const overdue = await api('GET', '/ops/v1/complaints?due=overdue', { token: agent.token });
    assert.ok(overdue.body.data.some((c: { id: string; escalation: string }) => c.id === id && c.escalation === 'overdue'));
    assert.equal((await system.platform.complaints.escalate()).overdue, 0, 'flagged once');
    assert.ok((await auditedFor(holder.userId)).some((line) => line.startsWith('complaint.escalate|null|')), 'escalation is audited as the system');

    // The export: compliance only, exactly four fields, audited with the reason.
    assert.equal((await api('POST', `/ops/v1/complaints/${id}/regulator-export`, { token: agent.token, body: { reason: 'regulator request 12315-001' } })).status, 403);
    const exported = await api('POST', `/ops/v1/complaints/${id}/regulator-export`, { token: compliance.token, body: { reason: 'regulator request 12315-001' } });
    assert.equal(exported.status, 200);
    assert.deepEqual(exported.body, { name: '吴一', id_number: holder.idNumber, contact: holder.phone, complaint_content: 'The merchant charged me twice for one order.' });
    assert.ok((await auditedFor(holder.userId)).includes(`complaint.regulator_export|${compliance.staffId}|regulator request 12315-001`));

    const answered = await api('POST', `/ops/v1/complaints/${id}/answer`, { token: agent.token, body: { answer: 'The second charge was refunded.' } });
    assert.equal(answered.body.status, 'answered');
    assert.equal((await api('POST', `/ops/v1/complaints/${id}/answer`, { token: agent.token, body: { answer: 'again' } })).body.error.code, 'complaint_already_answered');
    const mine = await api('GET', '/v1/complaints', { token: holder.token });
    assert.equal(mine.body.data.find((c: { id: string }) => c.id === id).answer, 'The second charge was refunded.');
    assert.equal((await system.platform.audit.verify()).breaks.length, 0, 'the chain holds after all of it');
  });
});
