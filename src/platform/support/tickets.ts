import assert from 'node:assert/strict';
import type { Kysely, Selectable } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import type { RateLimitStore } from '../../infra/http/rate-limit.ts';
import { newId } from '../../infra/ids.ts';
import { errors } from '../errors.ts';
import type { PersonalDataVault } from '../payment-account/personal-data.ts';
import type { StaffAudit } from '../staff/audit.ts';
import type { StaffTables, SupportTables, TicketStatus } from '../staff/tables.ts';
import type { PlatformTables } from '../tables.ts';

type Tables = PlatformTables & StaffTables & SupportTables;
export type Ticket = SupportTables['support_tickets'];
export type TicketMessage = Selectable<SupportTables['support_ticket_messages']>;
export type NewTicketMessage = Omit<TicketMessage, 'seq'>;

/** An identity check is good for opening tickets for the caller for this long. */
export const identityCheckValidityMs = 15 * 60_000;
/** One agent may run this many identity checks an hour: enough for a shift of calls, too few to guess ID numbers. */
export const identityChecksPerStaffHour = 30;
/** Failed checks against one Mi account an hour before that account's checks are refused. */
export const failedIdentityChecksPerAccountHour = 5;
const ticketsPerPageMax = 100;

/** What a caller tells an agent on the phone, as the policy lists it (一.5): Mi account, name, phone, ID number. */
export interface CallerIdentity {
  miNumber: string;
  name: string;
  phone: string;
  idNumber: string;
}

/**
 * Support tickets: opened by the user, or by an agent for a caller whose identity they checked.
 * The user sees their messages and staff replies; internal notes stay with staff. Every staff
 * read and write is in the audit log.
 */
export class SupportTickets {
  readonly #db: Kysely<Tables>;
  readonly #audit: StaffAudit;
  readonly #personalData: PersonalDataVault;
  readonly #limits: RateLimitStore;
  readonly #clock: () => Date;

  constructor(options: { db: Kysely<any>; audit: StaffAudit; personalData: PersonalDataVault; limits: RateLimitStore; clock: () => Date }) {
    this.#db = options.db as Kysely<Tables>;
    this.#audit = options.audit;
    this.#personalData = options.personalData;
    this.#limits = options.limits;
    this.#clock = options.clock;
  }

  async openByUser(userId: string, subject: string, body: string): Promise<Ticket> {
    return this.#open({ userId, subject, body, openedBy: 'user', staffId: null, identityCheckId: null });
  }

  async listForUser(userId: string): Promise<Ticket[]> {
    return this.#db.selectFrom('support_tickets').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').limit(ticketsPerPageMax).execute();
  }

  /** The ticket with what the user may see: their messages and staff replies, never internal notes. */
  async getForUser(userId: string, ticketId: string): Promise<{ ticket: Ticket; messages: TicketMessage[] }> {
    const ticket = await this.#db.selectFrom('support_tickets').selectAll().where('id', '=', ticketId).where('user_id', '=', userId).executeTakeFirst();
    if (!ticket) throw errors.not_found('No ticket with this id on this account.', 'id');
    const messages = await this.#db.selectFrom('support_ticket_messages').selectAll().where('ticket_id', '=', ticketId)
      .where('kind', '!=', 'internal_note').orderBy('seq').execute();
    return { ticket, messages };
  }

  /** A user's message on their ticket; it reopens a ticket waiting on them or resolved. A closed ticket takes no more. */
  async addUserMessage(userId: string, ticketId: string, body: string): Promise<NewTicketMessage> {
    return transactionWithRetry(this.#db, async (trx) => {
      const ticket = await trx.selectFrom('support_tickets').selectAll().where('id', '=', ticketId).where('user_id', '=', userId).forUpdate().executeTakeFirst();
      if (!ticket) throw errors.not_found('No ticket with this id on this account.', 'id');
      if (ticket.status === 'closed') throw errors.ticket_closed('This ticket is closed; open a new one.', 'id');
      const now = this.#clock();
      const message: NewTicketMessage = { id: newId('tkm', now.getTime()), ticket_id: ticketId, kind: 'user_message', staff_id: null, body, created_at: now };
      await trx.insertInto('support_ticket_messages').values(message).execute();
      await trx.updateTable('support_tickets').set({ status: 'open', updated_at: now }).where('id', '=', ticketId).execute();
      return message;
    });
  }

  /**
   * Checks what a caller says against the record, revealing nothing but match or no match: the
   * Mi account number finds the account, then its phone, the payment account holder's name and
   * ID number (compared by keyed fingerprint, never opened) must all agree. Limited per agent and
   * per account so the check cannot be used to guess an ID number; audited either way.
   */
  async checkIdentity(staffId: string, caller: CallerIdentity, ip: string | null): Promise<{ checkId: string; matched: boolean }> {
    const perStaff = await this.#limits.hit(`identity-check:staff:${staffId}`, 3_600_000);
    if (perStaff.count > identityChecksPerStaffHour) {
      throw errors.rate_limited('Too many identity checks this hour.', undefined, { retry_after_s: Math.ceil(perStaff.resetInMs / 1000) });
    }
    const user = await this.#db.selectFrom('users').select(['id', 'phone']).where('mi_number', '=', caller.miNumber.trim()).executeTakeFirst();
    if (user) {
      const since = new Date(this.#clock().getTime() - 3_600_000);
      const failed = await this.#db.selectFrom('support_identity_checks').select((eb) => eb.fn.countAll<string>().as('n'))
        .where('user_id', '=', user.id).where('matched', '=', false).where('created_at', '>', since).executeTakeFirstOrThrow();
      if (Number(failed.n) >= failedIdentityChecksPerAccountHour) {
        throw errors.rate_limited('Too many failed identity checks for this Mi account this hour.', undefined, { retry_after_s: 3_600 });
      }
    }
    let matched = false;
    if (user) {
      const account = await this.#db.selectFrom('payment_accounts').select(['holder_name', 'id_number_fingerprint'])
        .where('user_id', '=', user.id).executeTakeFirst();
      // Every comparison runs, so the time taken does not tell which field was wrong.
      const phoneOk = user.phone === caller.phone.trim();
      const nameOk = account !== undefined && account.holder_name === caller.name.trim();
      const idOk = account !== undefined && this.#personalData.matchesIdNumber(account.id_number_fingerprint, caller.idNumber);
      matched = phoneOk && nameOk && idOk;
    }
    const now = this.#clock();
    const checkId = newId('idc', now.getTime());
    await transactionWithRetry(this.#db, async (trx) => {
      await trx.insertInto('support_identity_checks').values({ id: checkId, staff_id: staffId, user_id: user?.id ?? null, matched, created_at: now }).execute();
      await this.#audit.record({
        staffId, action: 'user.identity.check', subjectUserId: user?.id ?? null, subjectType: 'identity_check', subjectId: checkId,
        details: { matched }, ip,
      }, trx);
    });
    return { checkId, matched };
  }

  /** A ticket for a caller, opened by the agent who checked their identity in the last 15 minutes. */
  async openByAgent(staffId: string, identityCheckId: string, subject: string, body: string, ip: string | null): Promise<Ticket> {
    const check = await this.#db.selectFrom('support_identity_checks').selectAll().where('id', '=', identityCheckId).executeTakeFirst();
    const now = this.#clock();
    if (!check || check.staff_id !== staffId || !check.matched || check.user_id === null
      || now.getTime() - new Date(check.created_at).getTime() > identityCheckValidityMs) {
      throw errors.identity_check_required('Check the caller\'s identity first (POST /ops/v1/identity-checks, matched, yours, in the last 15 minutes).', 'identity_check_id');
    }
    return this.#open({ userId: check.user_id, subject, body, openedBy: 'agent', staffId, identityCheckId, ip });
  }

  async listForStaff(staffId: string, filter: { status?: TicketStatus | undefined; limit: number; startingAfter?: string | undefined }, ip: string | null): Promise<Ticket[]> {
    assert.ok(filter.limit >= 1 && filter.limit <= ticketsPerPageMax);
    let query = this.#db.selectFrom('support_tickets').selectAll();
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.startingAfter) query = query.where('id', '<', filter.startingAfter);
    const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
    await this.#audit.record({ staffId, action: 'ticket.list', details: { status: filter.status ?? null, count: rows.length }, ip });
    return rows;
  }

  /** The whole ticket, notes included; the look is audited with the ticket as its reason. */
  async getForStaff(staffId: string, ticketId: string, ip: string | null): Promise<{ ticket: Ticket; messages: TicketMessage[] }> {
    const ticket = await this.#db.selectFrom('support_tickets').selectAll().where('id', '=', ticketId).executeTakeFirst();
    if (!ticket) throw errors.not_found('No ticket with this id.', 'id');
    const messages = await this.#db.selectFrom('support_ticket_messages').selectAll().where('ticket_id', '=', ticketId).orderBy('seq').execute();
    await this.#audit.record({
      staffId, action: 'ticket.read', reason: `handling ticket ${ticketId}`, subjectUserId: ticket.user_id, subjectType: 'ticket', subjectId: ticketId, ip,
    });
    return { ticket, messages };
  }

  /** A staff reply (the user sees it; the ticket then waits on the user) or an internal note (the user never sees it). */
  async addStaffMessage(staffId: string, ticketId: string, kind: 'staff_reply' | 'internal_note', body: string, ip: string | null): Promise<NewTicketMessage> {
    return transactionWithRetry(this.#db, async (trx) => {
      const ticket = await trx.selectFrom('support_tickets').selectAll().where('id', '=', ticketId).forUpdate().executeTakeFirst();
      if (!ticket) throw errors.not_found('No ticket with this id.', 'id');
      if (ticket.status === 'closed') throw errors.ticket_closed('This ticket is closed.', 'id');
      const now = this.#clock();
      const message: NewTicketMessage = { id: newId('tkm', now.getTime()), ticket_id: ticketId, kind, staff_id: staffId, body, created_at: now };
      await trx.insertInto('support_ticket_messages').values(message).execute();
      if (kind === 'staff_reply') await trx.updateTable('support_tickets').set({ status: 'waiting_on_user', updated_at: now }).where('id', '=', ticketId).execute();
      await this.#audit.record({
        staffId, action: kind === 'staff_reply' ? 'ticket.reply' : 'ticket.note', subjectUserId: ticket.user_id, subjectType: 'ticket', subjectId: ticketId,
        details: { message_id: message.id }, ip,
      }, trx);
      return message;
    });
  }

  /** Moves a ticket to a state; a closed ticket stays closed. */
  async setStatus(staffId: string, ticketId: string, status: TicketStatus, ip: string | null): Promise<Ticket> {
    return transactionWithRetry(this.#db, async (trx) => {
      const ticket = await trx.selectFrom('support_tickets').selectAll().where('id', '=', ticketId).forUpdate().executeTakeFirst();
      if (!ticket) throw errors.not_found('No ticket with this id.', 'id');
      if (ticket.status === 'closed' && status !== 'closed') throw errors.ticket_closed('A closed ticket cannot be reopened; open a new one.', 'status');
      const now = this.#clock();
      await trx.updateTable('support_tickets').set({ status, updated_at: now }).where('id', '=', ticketId).execute();
      await this.#audit.record({
        staffId, action: 'ticket.status', subjectUserId: ticket.user_id, subjectType: 'ticket', subjectId: ticketId, details: { from: ticket.status, to: status }, ip,
      }, trx);
      return { ...ticket, status, updated_at: now };
    });
  }

  async #open(input: { userId: string; subject: string; body: string; openedBy: 'user' | 'agent'; staffId: string | null; identityCheckId: string | null; ip?: string | null }): Promise<Ticket> {
    const now = this.#clock();
    const ticket: Ticket = {
      id: newId('tkt', now.getTime()), user_id: input.userId, subject: input.subject, status: 'open', opened_by: input.openedBy,
      opened_by_staff_id: input.staffId, identity_check_id: input.identityCheckId, created_at: now, updated_at: now,
    };
    await transactionWithRetry(this.#db, async (trx) => {
      await trx.insertInto('support_tickets').values(ticket).execute();
      await trx.insertInto('support_ticket_messages').values({
        id: newId('tkm', now.getTime()), ticket_id: ticket.id, kind: input.openedBy === 'user' ? 'user_message' : 'staff_reply',
        staff_id: input.staffId, body: input.body, created_at: now,
      }).execute();
      if (input.staffId) {
        await this.#audit.record({
          staffId: input.staffId, action: 'ticket.open_for_user', subjectUserId: input.userId, subjectType: 'ticket', subjectId: ticket.id,
          details: { identity_check_id: input.identityCheckId }, ip: input.ip ?? null,
        }, trx);
      }
    });
    return ticket;
  }
}
