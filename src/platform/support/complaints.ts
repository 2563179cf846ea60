import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { addWorkingDays } from '../../infra/calendar/working-days.ts';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import type { Logger } from '../../infra/log/logger.ts';
import { errors } from '../errors.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';
import type { StaffAudit } from '../staff/audit.ts';
import type { StaffTables, SupportTables } from '../staff/tables.ts';
import type { PlatformTables } from '../tables.ts';

type Tables = PlatformTables & StaffTables & SupportTables;
export type Complaint = SupportTables['complaints'];

/** Policy 九: a complaint is answered within 15 working days of receipt (the day of receipt not counted). */
export const complaintAnswerWorkingDays = 15;
/** Escalated as due soon when the deadline falls within this many working days. */
export const complaintDueSoonWorkingDays = 3;
const listMax = 100;

/**
 * What a consumer-protection regulator receives for a case (policy 一.5(2)): exactly the name,
 * the ID number, the contact and the complaint's content — nothing more.
 */
export interface RegulatorExport {
  name: string | null;
  id_number: string | null;
  contact: string;
  complaint_content: string;
}

/** Complaints: filed by users, answered by staff within 15 working days, escalated before the deadline, exported to a regulator on request. */
export class Complaints {
  readonly #db: Kysely<Tables>;
  readonly #audit: StaffAudit;
  readonly #paymentAccounts: Pick<PaymentAccountService, 'findByUser' | 'idNumberOf'>;
  readonly #clock: () => Date;
  readonly #logger: Logger;

  constructor(options: { db: Kysely<any>; audit: StaffAudit; paymentAccounts: Pick<PaymentAccountService, 'findByUser' | 'idNumberOf'>; clock: () => Date; logger: Logger }) {
    this.#db = options.db as Kysely<Tables>;
    this.#audit = options.audit;
    this.#paymentAccounts = options.paymentAccounts;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** Files a complaint; the contact is the account's phone unless the user gives another; the deadline is set at once. */
  async file(input: { userId: string; content: string; contact?: string | undefined; ticketId?: string | undefined }): Promise<Complaint> {
    if (input.ticketId) {
      const ticket = await this.#db.selectFrom('support_tickets').select('id').where('id', '=', input.ticketId).where('user_id', '=', input.userId).executeTakeFirst();
      if (!ticket) throw errors.not_found('No ticket with this id on this account.', 'ticket_id');
    }
    const user = await this.#db.selectFrom('users').select('phone').where('id', '=', input.userId).executeTakeFirstOrThrow();
    const now = this.#clock();
    const deadline = addWorkingDays(now, complaintAnswerWorkingDays);
    const complaint: Complaint = {
      id: newId('cmp', now.getTime()), user_id: input.userId, ticket_id: input.ticketId ?? null, content: input.content,
      contact: input.contact ?? user.phone, status: 'open', received_at: now, due_date: deadline.dueDate, due_at: deadline.dueAt,
      calendar_covered: deadline.calendarCovered, escalation: 'none', escalated_at: null, answer: null, answered_at: null, answered_by_staff_id: null,
    };
    await this.#db.insertInto('complaints').values(complaint).execute();
    return complaint;
  }

  async listForUser(userId: string): Promise<Complaint[]> {
    return this.#db.selectFrom('complaints').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').limit(listMax).execute();
  }

  /** Open complaints for the console: all, due soon, or overdue; soonest deadline first. The look is audited. */
  async listForStaff(staffId: string, filter: { due: 'open' | 'due_soon' | 'overdue'; limit: number }, ip: string | null): Promise<Complaint[]> {
    assert.ok(filter.limit >= 1 && filter.limit <= listMax);
    let query = this.#db.selectFrom('complaints').selectAll().where('status', '=', 'open');
    const now = this.#clock();
    if (filter.due === 'overdue') query = query.where('due_at', '<', now);
    if (filter.due === 'due_soon') query = query.where('due_at', '>=', now).where('due_at', '<=', addWorkingDays(now, complaintDueSoonWorkingDays).dueAt);
    const rows = await query.orderBy('due_at').limit(filter.limit).execute();
    await this.#audit.record({ staffId, action: 'complaint.list', details: { due: filter.due, count: rows.length }, ip });
    return rows;
  }

  async getForStaff(staffId: string, id: string, ip: string | null): Promise<Complaint> {
    const complaint = await this.#db.selectFrom('complaints').selectAll().where('id', '=', id).executeTakeFirst();
    if (!complaint) throw errors.not_found('No complaint with this id.', 'id');
    await this.#audit.record({
      staffId, action: 'complaint.read', reason: `handling complaint ${id}`, subjectUserId: complaint.user_id, subjectType: 'complaint', subjectId: id, ip,
    });
    return complaint;
  }

  /** The answer the user sees; once given it stands (a complaint is answered once). */
  async answer(staffId: string, id: string, answer: string, ip: string | null): Promise<Complaint> {
    return transactionWithRetry(this.#db, async (trx) => {
      const complaint = await trx.selectFrom('complaints').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!complaint) throw errors.not_found('No complaint with this id.', 'id');
      if (complaint.status === 'answered') throw errors.complaint_already_answered('This complaint was already answered.', 'id');
      const now = this.#clock();
      await trx.updateTable('complaints').set({ status: 'answered', answer, answered_at: now, answered_by_staff_id: staffId }).where('id', '=', id).execute();
      await this.#audit.record({
        staffId, action: 'complaint.answer', subjectUserId: complaint.user_id, subjectType: 'complaint', subjectId: id,
        details: { on_time: now.getTime() <= new Date(complaint.due_at).getTime() }, ip,
      }, trx);
      return { ...complaint, status: 'answered', answer, answered_at: now, answered_by_staff_id: staffId };
    });
  }

  /**
   * The case for a consumer-protection regulator: the four fields of policy 一.5(2) and nothing
   * else. The ID number is opened from its seal only here; the export is audited with its reason.
   */
  async regulatorExport(staffId: string, id: string, reason: string, ip: string | null): Promise<RegulatorExport> {
    const complaint = await this.#db.selectFrom('complaints').selectAll().where('id', '=', id).executeTakeFirst();
    if (!complaint) throw errors.not_found('No complaint with this id.', 'id');
    const account = await this.#paymentAccounts.findByUser(complaint.user_id);
    const exported: RegulatorExport = {
      name: account?.holder_name ?? null, id_number: account ? this.#paymentAccounts.idNumberOf(account) : null,
      contact: complaint.contact, complaint_content: complaint.content,
    };
    await this.#audit.record({
      staffId, action: 'complaint.regulator_export', reason, subjectUserId: complaint.user_id, subjectType: 'complaint', subjectId: id,
      details: { fields: Object.keys(exported) }, ip,
    });
    return exported;
  }

  /**
   * The escalation pass (a periodic job): open complaints whose deadline is within 3 working days
   * become `due_soon`, those past it `overdue`; each change is audited (by the system) and logged
   * as a warning for whoever watches the logs. Answers how many changed.
   */
  async escalate(): Promise<{ dueSoon: number; overdue: number }> {
    const now = this.#clock();
    const soonLimit = addWorkingDays(now, complaintDueSoonWorkingDays).dueAt;
    const result = { dueSoon: 0, overdue: 0 };
    for (const [level, condition] of [['overdue', 'past'], ['due_soon', 'soon']] as const) {
      await transactionWithRetry(this.#db, async (trx) => {
        let query = trx.selectFrom('complaints').select(['id', 'user_id', 'due_date']).where('status', '=', 'open');
        query = condition === 'past'
          ? query.where('due_at', '<', now).where('escalation', '!=', 'overdue')
          : query.where('due_at', '>=', now).where('due_at', '<=', soonLimit).where('escalation', '=', 'none');
        const rows = await query.orderBy('due_at').limit(500).forUpdate().execute();
        for (const row of rows) {
          await trx.updateTable('complaints').set({ escalation: level, escalated_at: now }).where('id', '=', row.id).execute();
          await this.#audit.record({
            staffId: null, action: 'complaint.escalate', subjectUserId: row.user_id, subjectType: 'complaint', subjectId: row.id,
            details: { escalation: level, due_date: row.due_date },
          }, trx);
          this.#logger.warn({ complaint_id: row.id, escalation: level, due_date: row.due_date }, 'complaint escalated');
        }
        if (level === 'overdue') result.overdue = rows.length;
        else result.dueSoon = rows.length;
      });
    }
    return result;
  }
}
