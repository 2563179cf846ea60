import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors } from '../errors.ts';
import { ticketStatuses } from '../staff/tables.ts';
import type { Complaint, Complaints } from './complaints.ts';
import type { SupportTickets, Ticket, TicketMessage } from './tickets.ts';

const messageBody = z.string().trim().min(1).max(4_000);

export const ticketSchema = z.object({
  id: z.string().describe('The ticket\'s id (`tkt_…`)'),
  subject: z.string().describe('What the ticket is about, in a line'),
  status: z.enum(ticketStatuses).describe('`open` (with staff), `waiting_on_user` (a reply awaits you), `resolved`, `closed` (takes no more messages)'),
  opened_by: z.enum(['user', 'agent']).describe('Who opened it: the user, or an agent for the user on a call'),
  created_at: z.string(),
  updated_at: z.string(),
});

export const ticketMessageSchema = z.object({
  id: z.string().describe('The message\'s id (`tkm_…`)'),
  kind: z.enum(['user_message', 'staff_reply', 'internal_note']).describe('The user\'s message, a staff reply, or (staff only) an internal note'),
  body: z.string().describe('The message text'),
  created_at: z.string(),
});

export const complaintSchema = z.object({
  id: z.string().describe('The complaint\'s id (`cmp_…`)'),
  content: z.string().describe('The complaint as the user wrote it'),
  contact: z.string().describe('How to reach the user about it (the account phone unless another was given)'),
  ticket_id: z.string().nullable().describe('The support ticket it grew from, if any'),
  status: z.enum(['open', 'answered']).describe('`open` until staff answer it'),
  received_at: z.string().describe('When the complaint was received (ISO 8601, UTC)'),
  due_date: z.string().describe('The last day (China, YYYY-MM-DD) of the 15 working days for the answer; the day of receipt does not count'),
  answer: z.string().nullable().describe('The platform\'s answer, once given'),
  answered_at: z.string().nullable().describe('When it was answered, or null (ISO 8601, UTC)'),
});

export function ticketToWire(t: Ticket): z.infer<typeof ticketSchema> {
  return { id: t.id, subject: t.subject, status: t.status, opened_by: t.opened_by, created_at: t.created_at.toISOString(), updated_at: t.updated_at.toISOString() };
}

export function messageToWire(m: Omit<TicketMessage, 'seq'>): z.infer<typeof ticketMessageSchema> {
  return { id: m.id, kind: m.kind, body: m.body, created_at: m.created_at.toISOString() };
}

export function complaintToWire(c: Complaint): z.infer<typeof complaintSchema> {
  return {
    id: c.id, content: c.content, contact: c.contact, ticket_id: c.ticket_id, status: c.status, received_at: new Date(c.received_at).toISOString(),
    due_date: c.due_date, answer: c.answer, answered_at: c.answered_at ? new Date(c.answered_at).toISOString() : null,
  };
}

const tags = ['support'];

/** The user's side of customer service: tickets with their messages and staff replies, and complaints. */
export function registerSupportRoutes(app: App, accounts: AccountService, tickets: SupportTickets, complaints: Complaints): void {
  const authed = { preHandler: requireSession(accounts) };
  const security = [{ session: [] }];

  app.post('/v1/support/tickets', {
    ...authed,
    schema: {
      tags, security, summary: 'Open a support ticket', description: 'A question or problem for customer service; staff replies appear on the ticket.',
      errors: [], body: z.object({ subject: z.string().trim().min(1).max(200).describe('What it is about, in a line'), body: messageBody.describe('The question or problem') }),
      response: { 201: ticketSchema },
    },
  }, async (request, reply) => {
    const ticket = await tickets.openByUser(caller(request).user.id, request.body.subject, request.body.body);
    void reply.code(201);
    return ticketToWire(ticket);
  });

  app.get('/v1/support/tickets', {
    ...authed,
    schema: { tags, security, summary: 'Your support tickets', description: 'Newest first, at most 100.', errors: [],
      response: { 200: z.object({ data: z.array(ticketSchema) }) } },
  }, async (request) => ({ data: (await tickets.listForUser(caller(request).user.id)).map(ticketToWire) }));

  app.get('/v1/support/tickets/:id', {
    ...authed,
    schema: {
      tags, security, summary: 'A support ticket with its messages and staff replies', description: 'Staff\'s internal notes are not shown.',
      errors: [errors.not_found], params: z.object({ id: z.string().min(1).max(64).describe('The ticket\'s id') }),
      response: { 200: z.object({ ticket: ticketSchema.describe('The ticket'), messages: z.array(ticketMessageSchema).describe('Your messages and staff replies, oldest first') }) },
    },
  }, async (request) => {
    const { ticket, messages } = await tickets.getForUser(caller(request).user.id, request.params.id);
    return { ticket: ticketToWire(ticket), messages: messages.map(messageToWire) };
  });

  app.post('/v1/support/tickets/:id/messages', {
    ...authed,
    schema: {
      tags, security, summary: 'Add a message to your ticket', description: 'Reopens a ticket waiting on you or resolved; a closed ticket refuses (`ticket_closed`).',
      errors: [errors.not_found, errors.ticket_closed], params: z.object({ id: z.string().min(1).max(64).describe('The ticket\'s id') }),
      body: z.object({ body: messageBody.describe('Your message') }), response: { 201: ticketMessageSchema },
    },
  }, async (request, reply) => {
    const message = await tickets.addUserMessage(caller(request).user.id, request.params.id, request.body.body);
    void reply.code(201);
    return messageToWire(message);
  });

  app.post('/v1/complaints', {
    ...authed,
    schema: {
      tags, security, summary: 'File a complaint (answered within 15 working days)',
      description: 'The answer is due within 15 working days of receipt (Chinese working days; the day of receipt does not count); '
        + '`due_date` says by when. The contact defaults to the account\'s phone.',
      errors: [errors.not_found],
      body: z.object({
        content: z.string().trim().min(10).max(4_000).describe('The complaint: what happened and what you ask for'),
        contact: z.string().trim().min(3).max(100).optional().describe('How to reach you about it, if not the account phone'),
        ticket_id: z.string().min(1).max(64).optional().describe('The support ticket it grew from, if any'),
      }),
      response: { 201: complaintSchema },
    },
  }, async (request, reply) => {
    const complaint = await complaints.file({ userId: caller(request).user.id, content: request.body.content, contact: request.body.contact, ticketId: request.body.ticket_id });
    void reply.code(201);
    return complaintToWire(complaint);
  });

  app.get('/v1/complaints', {
    ...authed,
    schema: { tags, security, summary: 'Your complaints, with their deadlines and answers', description: 'Newest first, at most 100.', errors: [],
      response: { 200: z.object({ data: z.array(complaintSchema) }) } },
  }, async (request) => ({ data: (await complaints.listForUser(caller(request).user.id)).map(complaintToWire) }));
}
