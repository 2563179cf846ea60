import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import { errors } from '../errors.ts';
import type { TransactionHistory } from '../payments/history.ts';
import { historyEntryToWire, transactionSchema } from '../payments/routes.ts';
import type { StaffAudit } from '../staff/audit.ts';
import { accessReason, requireStaff, staffAuthErrors, staffCaller, staffSecurity } from '../staff/auth.ts';
import type { StaffService } from '../staff/service.ts';
import { ticketStatuses } from '../staff/tables.ts';
import type { Complaint, Complaints } from './complaints.ts';
import { complaintSchema, complaintToWire, messageToWire, ticketMessageSchema, ticketSchema, ticketToWire } from './routes.ts';
import type { SupportTickets, Ticket, TicketMessage } from './tickets.ts';

const idParams = z.object({ id: z.string().min(1).max(64).describe('The object\'s id') });
const limit = z.coerce.number().int().min(1).max(100).default(50).describe('How many items at most to answer (1–100)');

const opsTicketSchema = ticketSchema.extend({
  user_id: z.string().describe('The user the ticket is for (`usr_…`)'),
  opened_by_staff_id: z.string().nullable().describe('The agent who opened it on a call, or null when the user did'),
});
const opsMessageSchema = ticketMessageSchema.extend({
  staff_id: z.string().nullable().describe('The staff member who wrote it, or null for the user'),
});
const opsComplaintSchema = complaintSchema.extend({
  user_id: z.string().describe('The user who complained (`usr_…`)'),
  due_at: z.string().describe('The instant after which the complaint is overdue: the end of `due_date` in China (ISO 8601, UTC)'),
  escalation: z.enum(['none', 'due_soon', 'overdue']).describe('Set by the escalation job: deadline within 3 working days, or passed'),
  calendar_covered: z.boolean().describe('False when the deadline was counted through a year the holiday calendar does not cover yet: check it by hand'),
});
const auditEntrySchema = z.object({
  seq: z.string().describe('The entry\'s place in the chain (1, 2, …), as a string'),
  id: z.string().describe('The entry\'s id (`aud_…`)'),
  at: z.string().describe('When the action happened (ISO 8601, UTC)'),
  staff_id: z.string().nullable().describe('Who acted; null for the system (a periodic job, the CLI)'),
  action: z.string().describe('What was done, e.g. `user.transactions.read`, `ticket.reply`, `complaint.regulator_export`'),
  reason: z.string().nullable().describe('Why, as the staff member gave it (required for every look at a user\'s data)'),
  subject_user_id: z.string().nullable().describe('The user whose data was seen or changed, if any'),
  subject_type: z.string().nullable().describe('The kind of object acted on (`ticket`, `complaint`, `staff`, …)'),
  subject_id: z.string().nullable().describe('The id of the object acted on'),
  details: z.record(z.string(), z.unknown()).describe('Non-secret facts about the action'),
  ip: z.string().nullable().describe('The staff member\'s client address'),
  hash: z.string().describe('SHA-256 of this entry and the previous entry\'s hash (hex)'),
});

function opsTicket(t: Ticket): z.infer<typeof opsTicketSchema> {
  return { ...ticketToWire(t), user_id: t.user_id, opened_by_staff_id: t.opened_by_staff_id };
}
function opsMessage(m: Omit<TicketMessage, 'seq'>): z.infer<typeof opsMessageSchema> {
  return { ...messageToWire(m), staff_id: m.staff_id };
}
function opsComplaint(c: Complaint): z.infer<typeof opsComplaintSchema> {
  return { ...complaintToWire(c), user_id: c.user_id, due_at: new Date(c.due_at).toISOString(), escalation: c.escalation, calendar_covered: c.calendar_covered };
}

export interface OpsRouteDeps {
  staff: StaffService;
  audit: StaffAudit;
  tickets: SupportTickets;
  complaints: Complaints;
  history: TransactionHistory;
}

/** The ops console's API for customer service, complaints and the audit log (/ops/v1). */
export function registerSupportOpsRoutes(app: App, deps: OpsRouteDeps): void {
  const { staff, audit, tickets, complaints, history } = deps;
  const agent = { preHandler: requireStaff(staff, 'support_agent') };
  const complaintStaff = { preHandler: requireStaff(staff, 'support_agent', 'compliance_officer') };
  const compliance = { preHandler: requireStaff(staff, 'compliance_officer') };
  const auditors = { preHandler: requireStaff(staff, 'compliance_officer', 'admin') };
  const base = { security: staffSecurity };

  app.post('/ops/v1/identity-checks', {
    ...agent,
    schema: {
      ...base, tags: ['ops: support'], summary: 'Check a caller\'s identity against the record: answers match or no match only (support_agent)',
      description: 'Mi account number, name, phone and ID number as the caller gives them (policy 一.5). All four must agree with the '
        + 'record (the ID number is compared by keyed fingerprint, never shown); the answer is only `matched`. 30 checks an hour per '
        + 'agent and 5 failed checks an hour per Mi account (`rate_limited`). Audited as `user.identity.check`.',
      errors: [...staffAuthErrors, errors.rate_limited],
      body: z.object({
        mi_number: z.string().trim().min(1).max(20).describe('The Mi account number (小米账号) the caller gives'),
        name: z.string().trim().min(1).max(64).describe('The real name the caller gives'),
        phone: z.string().trim().min(1).max(20).describe('The phone number the caller gives'),
        id_number: z.string().trim().min(1).max(18).describe('The resident ID number the caller gives'),
      }),
      response: { 200: z.object({
        identity_check_id: z.string().describe('The check\'s id; a matched one lets you open a ticket for the caller for 15 minutes'),
        matched: z.boolean().describe('Whether all four agree with the record; which one did not is never said'),
      }) },
    },
  }, async (request) => {
    const b = request.body;
    const result = await tickets.checkIdentity(staffCaller(request).staffId, { miNumber: b.mi_number, name: b.name, phone: b.phone, idNumber: b.id_number }, request.ip);
    return { identity_check_id: result.checkId, matched: result.matched };
  });

  app.post('/ops/v1/tickets', {
    ...agent,
    schema: {
      ...base, tags: ['ops: support'], summary: 'Open a ticket for a caller whose identity you checked (support_agent)',
      description: 'Needs your own matched identity check from the last 15 minutes (`identity_check_required`). The first message is a '
        + 'staff reply the user sees. Audited as `ticket.open_for_user`.',
      errors: [...staffAuthErrors, errors.identity_check_required],
      body: z.object({
        identity_check_id: z.string().min(1).max(64).describe('A matched identity check of yours (POST /ops/v1/identity-checks)'),
        subject: z.string().trim().min(1).max(200).describe('What it is about, in a line'),
        body: z.string().trim().min(1).max(4_000).describe('What the caller asked, as the user will read it on the ticket'),
      }),
      response: { 201: opsTicketSchema },
    },
  }, async (request, reply) => {
    const b = request.body;
    const ticket = await tickets.openByAgent(staffCaller(request).staffId, b.identity_check_id, b.subject, b.body, request.ip);
    void reply.code(201);
    return opsTicket(ticket);
  });

  app.get('/ops/v1/tickets', {
    ...agent,
    schema: {
      ...base, tags: ['ops: support'], summary: 'Tickets, newest first (support_agent)', description: 'Filter by status; page with `starting_after`. Audited as `ticket.list`.',
      errors: [...staffAuthErrors],
      querystring: z.object({
        status: z.enum(ticketStatuses).optional().describe('Only tickets in this state'), limit,
        starting_after: z.string().max(64).optional().describe('Cursor: the `id` of the last ticket of the previous page'),
      }),
      response: { 200: z.object({ data: z.array(opsTicketSchema) }) },
    },
  }, async (request) => {
    const q = request.query;
    return { data: (await tickets.listForStaff(staffCaller(request).staffId, { status: q.status, limit: q.limit, startingAfter: q.starting_after }, request.ip)).map(opsTicket) };
  });

  app.get('/ops/v1/tickets/:id', {
    ...agent,
    schema: {
      ...base, tags: ['ops: support'], summary: 'A ticket with every message and internal note (support_agent)',
      description: 'Audited as `ticket.read`, with the ticket as the reason.', errors: [...staffAuthErrors, errors.not_found], params: idParams,
      response: { 200: z.object({ ticket: opsTicketSchema.describe('The ticket'), messages: z.array(opsMessageSchema).describe('Messages, replies and notes, oldest first') }) },
    },
  }, async (request) => {
    const { ticket, messages } = await tickets.getForStaff(staffCaller(request).staffId, request.params.id, request.ip);
    return { ticket: opsTicket(ticket), messages: messages.map(opsMessage) };
  });

  for (const [path, kind, summary] of [
    ['replies', 'staff_reply', 'Reply on a ticket: the user sees it; the ticket then waits on the user (support_agent)'],
    ['notes', 'internal_note', 'Add an internal note to a ticket: staff only, the user never sees it (support_agent)'],
  ] as const) {
    app.post(`/ops/v1/tickets/:id/${path}`, {
      ...agent,
      schema: {
        ...base, tags: ['ops: support'], summary, description: `Audited as \`ticket.${kind === 'staff_reply' ? 'reply' : 'note'}\`. A closed ticket refuses (\`ticket_closed\`).`,
        errors: [...staffAuthErrors, errors.not_found, errors.ticket_closed], params: idParams,
        body: z.object({ body: z.string().trim().min(1).max(4_000).describe('The text') }), response: { 201: opsMessageSchema },
      },
    }, async (request, reply) => {
      const message = await tickets.addStaffMessage(staffCaller(request).staffId, request.params.id, kind, request.body.body, request.ip);
      void reply.code(201);
      return opsMessage(message);
    });
  }

  app.put('/ops/v1/tickets/:id/status', {
    ...agent,
    schema: {
      ...base, tags: ['ops: support'], summary: 'Move a ticket to a state (support_agent)',
      description: 'open, waiting_on_user, resolved or closed; a closed ticket stays closed (`ticket_closed`). Audited as `ticket.status`.',
      errors: [...staffAuthErrors, errors.not_found, errors.ticket_closed], params: idParams,
      body: z.object({ status: z.enum(ticketStatuses).describe('The new state') }), response: { 200: opsTicketSchema },
    },
  }, async (request) => opsTicket(await tickets.setStatus(staffCaller(request).staffId, request.params.id, request.body.status, request.ip)));

  app.get('/ops/v1/users/:id/transactions', {
    ...agent,
    schema: {
      ...base, tags: ['ops: support'], summary: 'A user\'s transactions, newest first, with the reason you look (support_agent)',
      description: 'Every look is written to the audit log as `user.transactions.read` with your `reason` and the user.',
      errors: [...staffAuthErrors, errors.not_found],
      params: z.object({ id: z.string().min(1).max(64).describe('The user\'s id (`usr_…`)') }),
      querystring: z.object({
        reason: accessReason, limit,
        starting_after: z.string().max(64).optional().describe('Cursor: the `id` of the last transaction of the previous page'),
      }),
      response: { 200: z.object({ data: z.array(transactionSchema).describe('The transactions, as the user sees them'), has_more: z.boolean() }) },
    },
  }, async (request) => {
    const { staffId } = staffCaller(request);
    const userId = request.params.id;
    const page = await history.page(userId, { limit: request.query.limit, startingAfter: request.query.starting_after });
    await audit.record({
      staffId, action: 'user.transactions.read', reason: request.query.reason, subjectUserId: userId,
      details: { count: page.data.length, starting_after: request.query.starting_after ?? null }, ip: request.ip,
    });
    return { data: page.data.map((t) => historyEntryToWire(t, userId)), has_more: page.hasMore };
  });

  app.get('/ops/v1/complaints', {
    ...complaintStaff,
    schema: {
      ...base, tags: ['ops: complaints'], summary: 'Open complaints: all, due soon or overdue, soonest deadline first (support_agent, compliance_officer)',
      description: '`due_soon`: the deadline is within 3 working days; `overdue`: past it. Audited as `complaint.list`.',
      errors: [...staffAuthErrors],
      querystring: z.object({ due: z.enum(['open', 'due_soon', 'overdue']).default('open').describe('Which open complaints: all, due soon, or overdue'), limit }),
      response: { 200: z.object({ data: z.array(opsComplaintSchema) }) },
    },
  }, async (request) => ({
    data: (await complaints.listForStaff(staffCaller(request).staffId, { due: request.query.due, limit: request.query.limit }, request.ip)).map(opsComplaint),
  }));

  app.get('/ops/v1/complaints/:id', {
    ...complaintStaff,
    schema: {
      ...base, tags: ['ops: complaints'], summary: 'A complaint (support_agent, compliance_officer)', description: 'Audited as `complaint.read`.',
      errors: [...staffAuthErrors, errors.not_found], params: idParams, response: { 200: opsComplaintSchema },
    },
  }, async (request) => opsComplaint(await complaints.getForStaff(staffCaller(request).staffId, request.params.id, request.ip)));

  app.post('/ops/v1/complaints/:id/answer', {
    ...complaintStaff,
    schema: {
      ...base, tags: ['ops: complaints'], summary: 'Answer a complaint; the user sees the answer (support_agent, compliance_officer)',
      description: 'A complaint is answered once (`complaint_already_answered`). Audited as `complaint.answer`, noting whether on time.',
      errors: [...staffAuthErrors, errors.not_found, errors.complaint_already_answered], params: idParams,
      body: z.object({ answer: z.string().trim().min(1).max(4_000).describe('The answer, as the user will read it') }), response: { 200: opsComplaintSchema },
    },
  }, async (request) => opsComplaint(await complaints.answer(staffCaller(request).staffId, request.params.id, request.body.answer, request.ip)));

  app.post('/ops/v1/complaints/:id/regulator-export', {
    ...compliance,
    schema: {
      ...base, tags: ['ops: complaints'], summary: 'Export a case for a consumer-protection regulator: name, ID number, contact, content only (compliance_officer)',
      description: 'Exactly the fields policy 一.5(2) names and nothing more. `name` and `id_number` are the payment account holder\'s '
        + '(null when the user never opened one). Audited as `complaint.regulator_export` with your `reason`.',
      errors: [...staffAuthErrors, errors.not_found], params: idParams,
      body: z.object({ reason: accessReason.describe('Why the case goes to a regulator (e.g. the regulator\'s request reference); audited') }),
      response: { 200: z.object({
        name: z.string().nullable().describe('The holder\'s real name'),
        id_number: z.string().nullable().describe('The holder\'s resident ID number'),
        contact: z.string().describe('The contact the user gave for the complaint'),
        complaint_content: z.string().describe('The complaint as the user wrote it'),
      }).strict() },
    },
  }, async (request) => complaints.regulatorExport(staffCaller(request).staffId, request.params.id, request.body.reason, request.ip));

  app.get('/ops/v1/audit-log', {
    ...auditors,
    schema: {
      ...base, tags: ['ops: audit'], summary: 'Search the staff audit log, newest first (compliance_officer, admin)',
      description: 'Filter by staff member, user, action and time; page back with `before_seq`. The search itself is audited as `audit_log.search`.',
      errors: [...staffAuthErrors],
      querystring: z.object({
        staff_id: z.string().max(64).optional().describe('Only this staff member\'s actions'),
        user_id: z.string().max(64).optional().describe('Only actions on this user\'s data'),
        action: z.string().max(64).optional().describe('Only this action, e.g. `user.transactions.read`'),
        from: z.iso.datetime().optional().describe('From this instant (ISO 8601), included'),
        to: z.iso.datetime().optional().describe('Until this instant (ISO 8601), excluded'),
        before_seq: z.coerce.bigint().positive().optional().describe('Cursor: only entries before this sequence number'),
        limit,
      }),
      response: { 200: z.object({ data: z.array(auditEntrySchema) }) },
    },
  }, async (request) => {
    const q = request.query;
    const entries = await audit.search({
      staffId: q.staff_id, subjectUserId: q.user_id, action: q.action, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined,
      beforeSeq: q.before_seq, limit: q.limit,
    });
    await audit.record({ staffId: staffCaller(request).staffId, action: 'audit_log.search', details: { ...q, before_seq: q.before_seq?.toString() ?? null, count: entries.length }, ip: request.ip });
    return {
      data: entries.map((e) => ({
        seq: e.seq.toString(), id: e.id, at: e.at.toISOString(), staff_id: e.staff_id, action: e.action, reason: e.reason,
        subject_user_id: e.subject_user_id, subject_type: e.subject_type, subject_id: e.subject_id, details: JSON.parse(e.details) as Record<string, unknown>,
        ip: e.ip, hash: e.hash,
      })),
    };
  });
}
