import type { Kysely } from 'kysely';
import { addWorkingDays } from '../../infra/calendar/working-days.ts';
import { newId } from '../../infra/ids.ts';
import { errors } from '../errors.ts';
import type { PrivacyDb, PrivacyTables } from './tables.ts';

/** The rights a user exercises by request (privacy policy 五). */
export const requestKinds = ['access', 'correction', 'deletion', 'consent_withdrawal', 'complaint'] as const;
export type RequestKind = (typeof requestKinds)[number];

/** Working days within which a request is answered (privacy policy 五, 八). */
export const answerWithinWorkingDays = 15;

/**
 * The reasons the policy gives for not answering a request (五, "响应您的上述请求" exceptions, after
 * PIPL and GB/T 35273 §8.7); a refusal carries exactly one of them.
 */
export const refusalReasons = {
  national_security: 'related to national security or national defence',
  public_safety_health: 'related to public safety, public health or major public interests',
  criminal_investigation: 'related to a criminal investigation, prosecution, trial or the enforcement of a judgment',
  abuse_of_rights: 'there is sufficient evidence of malicious intent or abuse of rights by the requester',
  harm_to_others: 'answering would seriously harm the lawful rights of the requester or of other persons or organisations',
  trade_secrets: 'answering would disclose trade secrets',
  identity_not_verified: 'the requester\'s identity could not be verified',
  legal_retention: 'the law requires the records to be kept (AML law Art. 34: identity and transaction records 10 years)',
  unreasonably_repetitive: 'the request repeats without reason one already answered, or needs disproportionate technical means',
} as const;
export type RefusalReason = keyof typeof refusalReasons;

export type PrivacyRequest = PrivacyTables['privacy_requests'] & { overdue: boolean };

/**
 * Rights requests with a clock: each gets a deadline of 15 working days on the Chinese
 * calendar (holidays and adjusted working weekends, infra/calendar/working-days.ts); one still
 * open past it is overdue, which the user sees and the ops console lists.
 */
export class PrivacyRequests {
  readonly #db: Kysely<PrivacyDb>;
  readonly #clock: () => Date;

  constructor(db: Kysely<PrivacyDb>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  async submit(userId: string, kind: RequestKind, details: string, db: Kysely<PrivacyDb> = this.#db): Promise<PrivacyRequest> {
    const now = this.#clock();
    const deadline = addWorkingDays(now, answerWithinWorkingDays);
    const row: PrivacyTables['privacy_requests'] = {
      id: newId('prq'), user_id: userId, kind, details, status: 'received', received_at: now, due_date: deadline.dueDate,
      due_at: deadline.dueAt, calendar_covered: deadline.calendarCovered, answered_at: null, refusal_reason: null, answer: null,
    };
    await db.insertInto('privacy_requests').values(row).execute();
    return this.#withOverdue(row, now);
  }

  async list(userId: string): Promise<PrivacyRequest[]> {
    const now = this.#clock();
    const rows = await this.#db.selectFrom('privacy_requests').selectAll().where('user_id', '=', userId)
      .orderBy('received_at', 'desc').orderBy('id', 'desc').limit(200).execute();
    return rows.map((r) => this.#withOverdue(r, now));
  }

  async get(userId: string, requestId: string): Promise<PrivacyRequest> {
    const row = await this.#db.selectFrom('privacy_requests').selectAll().where('id', '=', requestId).where('user_id', '=', userId).executeTakeFirst();
    if (!row) throw errors.not_found('No privacy request with this id on this account.', 'id');
    return this.#withOverdue(row, this.#clock());
  }

  /** Open requests past their deadline, oldest deadline first (for the ops console). */
  async overdue(limit = 500): Promise<PrivacyRequest[]> {
    const now = this.#clock();
    const rows = await this.#db.selectFrom('privacy_requests').selectAll().where('status', '=', 'received')
      .where('due_at', '<', now).orderBy('due_at', 'asc').limit(limit).execute();
    return rows.map((r) => this.#withOverdue(r, now));
  }

  /** Completes a request with an answer, or refuses it with one of the policy's reasons. */
  async answer(requestId: string, outcome: { status: 'completed'; answer: string } | { status: 'refused'; reason: RefusalReason; answer?: string },
    db: Kysely<PrivacyDb> = this.#db): Promise<void> {
    if (outcome.status === 'refused' && !(outcome.reason in refusalReasons)) {
      throw errors.parameter_invalid('A refusal carries one of the policy\'s reasons.', 'refusal_reason');
    }
    const result = await db.updateTable('privacy_requests').set({
      status: outcome.status, answered_at: this.#clock(), answer: outcome.answer ?? null,
      refusal_reason: outcome.status === 'refused' ? outcome.reason : null,
    }).where('id', '=', requestId).where('status', '=', 'received').executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw errors.request_not_open('This request was already answered.', 'id');
  }

  #withOverdue(row: PrivacyTables['privacy_requests'], now: Date): PrivacyRequest {
    return { ...row, overdue: row.status === 'received' && now.getTime() > row.due_at.getTime() };
  }
}
