/**
 * Identity proof for important operations (the policy's 一.4(2)): recovering the login
 * password, reporting the payment account lost or freezing its funds (and unfreezing it), and
 * asking for an electronic transaction voucher. The user uploads the ID card's two sides and a
 * photo holding it; they are checked (images.ts), sealed under the personal-data KEK, and wait
 * in a queue for a risk reviewer, who approves (the operation is carried out then) or rejects
 * with a reason the user is shown. The photos are deleted `documentRetentionMs` after the
 * decision; the case, its decision and reason stay.
 *
 * Freezing needs no review: a report of loss freezes the payment account at once, so a thief
 * cannot spend while a reviewer looks. Unfreezing is what needs the proof.
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import { checkLoginPassword } from '../accounts/service.ts';
import { errors } from '../errors.ts';
import { hashPassword } from '../passwords.ts';
import type { PersonalDataKeys, PersonalDataVault } from '../payment-account/personal-data.ts';
import { seal, unseal } from '../sealing.ts';
import type { PlatformTables } from '../tables.ts';
import type { RequestRiskContext } from './context.ts';
import type { RiskEngine } from './engine.ts';
import { checkIdentityImage } from './images.ts';
import { renderVoucher, signVoucher } from './voucher.ts';

export type IdentityCase = PlatformTables['identity_cases'];
export type CaseType = IdentityCase['type'];
export const documentKinds = ['id_front', 'id_back', 'holding_id'] as const;
export type DocumentKind = (typeof documentKinds)[number];
/** Base64 photos: the ID card's front (portrait side), back (national emblem side), and the holder holding it. */
export type DocumentUploads = Record<DocumentKind, string>;

/** How long identity photos are kept after their case is decided: long enough for a complaint about the decision. */
export const documentRetentionMs = 180 * 86_400_000;
export const reviewQueuePageMax = 100;

export interface IdentityCaseDeps {
  db: Kysely<PlatformTables>;
  clock: () => Date;
  codes: SmsCodes;
  personalData: PersonalDataVault;
  personalDataKeys: PersonalDataKeys;
  engine: RiskEngine;
  voucherKey: KeyObject;
}

/** Work done in the decision's own database transaction (the audit log entry), so both commit or neither. */
export type InTransaction = (trx: Kysely<PlatformTables>, decided: IdentityCase) => Promise<void>;

/** The reviewer's decision's effect on the user's side, for the reviewer's screen and the audit log. */
export interface DecisionOutcome {
  case: IdentityCase;
  carriedOut: string;
}

export class IdentityCases {
  readonly #d: IdentityCaseDeps;

  constructor(deps: IdentityCaseDeps) {
    this.#d = deps;
  }

  // ---- password recovery (no session: the password is what was forgotten) ----

  /** Texts a recovery code to a registered phone; an unknown phone gets the same answer and no text. */
  async sendRecoveryCode(phone: string): Promise<void> {
    const user = await this.#d.db.selectFrom('users').select('id').where('phone', '=', phone).where('status', '=', 'active').executeTakeFirst();
    if (user) await this.#d.codes.send(phone, 'login_password_recovery');
  }

  /**
   * Recovers the login password with an SMS code to the account's phone and the payment account
   * holder's ID number. When the risk engine finds the recovery unusual (a new device, another
   * region), the ID photos are needed too and a reviewer decides; else the password changes now.
   * Every session is revoked when it changes.
   */
  async recoverPassword(input: {
    phone: string; smsCode: string; idNumber: string; newPassword: string; documents?: DocumentUploads | undefined; context: RequestRiskContext;
  }): Promise<{ status: 'completed' } | { status: 'pending_review'; caseId: string }> {
    checkLoginPassword(input.newPassword);
    const checked = input.documents ? this.#checkDocuments(input.documents) : undefined;
    const failed = () => errors.password_recovery_failed('The ID number or the SMS code is wrong; ask for a new code to try again.', 'sms_code');
    const user = await this.#d.db.selectFrom('users').select(['id', 'phone']).where('phone', '=', input.phone).where('status', '=', 'active').executeTakeFirst();
    const account = user && await this.#d.db.selectFrom('payment_accounts').select(['id', 'id_number_fingerprint']).where('user_id', '=', user.id)
      .where('status', '!=', 'closed').executeTakeFirst();
    if (!user || !account) throw failed();
    const decision = await this.#d.engine.assess(user.id, 'password_recovery', { amountFen: null, payee: null, cardId: null }, input.context);
    const needsReview = decision.level !== 'allow';
    if (needsReview && !checked) {
      decision.enforced = 'refused';
      this.#d.engine.settle({ userId: user.id, operation: 'password_recovery', outcome: 'refused', context: input.context, decision });
      throw errors.risk_review_required('To recover the password from here, add photos of both sides of your ID card and one of you holding it.',
        'documents', { decision_id: decision.id, documents: [...documentKinds] });
    }
    const passwordHash = await hashPassword(input.newPassword);
    const now = this.#d.clock();
    const outcome = await transactionWithRetry(this.#d.db, async (trx) => {
      // The code is spent whether or not the ID number matches, so one code tests one ID number.
      const consumed = await this.#d.codes.consume(trx, user.phone, 'login_password_recovery', input.smsCode);
      if (consumed.error || !this.#d.personalData.matchesIdNumber(account.id_number_fingerprint, input.idNumber)) return { error: failed() };
      if (!needsReview) {
        await setLoginPassword(trx, user.id, passwordHash, now);
        return { completed: true as const, caseId: undefined };
      }
      const caseId = await this.#open(trx, user.id, 'password_recovery', { password_hash: passwordHash }, describeWhy(decision.fired), checked!);
      return { caseId, completed: false as const };
    });
    const ok = !('error' in outcome);
    decision.enforced = ok && needsReview ? 'stepped_up' : ok ? 'allowed' : 'refused';
    this.#d.engine.settle({
      userId: user.id, operation: 'password_recovery', outcome: ok ? 'succeeded' : 'failed_password', context: input.context, decision,
    });
    if ('error' in outcome) throw outcome.error;
    if (outcome.caseId !== undefined) return { status: 'pending_review', caseId: outcome.caseId };
    return { status: 'completed' };
  }

  // ---- report lost / freeze funds, unfreeze ----

  /** Freezes the user's payment account at once; unfreezing needs a reviewed identity case. */
  async reportLost(userId: string, reason: 'lost' | 'freeze_funds', context: RequestRiskContext): Promise<{ status: 'frozen' }> {
    const account = await this.#d.db.selectFrom('payment_accounts').select(['id', 'status']).where('user_id', '=', userId).executeTakeFirst();
    if (!account || account.status === 'closed') throw errors.payment_account_not_found('This Mi account has no open payment account.');
    await this.#d.db.updateTable('payment_accounts').set({ status: 'frozen' }).where('id', '=', account.id).where('status', '=', 'active').execute();
    this.#d.engine.settle({ userId, operation: 'report_lost', outcome: 'succeeded', context, facts: { payee: `reason:${reason}` } });
    return { status: 'frozen' };
  }

  /** Opens an unfreeze or voucher case with the ID photos. */
  async open(userId: string, input: { type: 'unfreeze' } | { type: 'voucher'; transactionId: string }, documents: DocumentUploads,
    context: RequestRiskContext): Promise<IdentityCase> {
    const checked = this.#checkDocuments(documents);
    let request: Record<string, unknown> = {};
    if (input.type === 'unfreeze') {
      const account = await this.#d.db.selectFrom('payment_accounts').select('status').where('user_id', '=', userId).executeTakeFirst();
      if (!account) throw errors.payment_account_not_found('This Mi account has no payment account.');
      if (account.status !== 'frozen') throw errors.account_not_frozen('The payment account is not frozen.');
    } else {
      const txn = await this.#d.db.selectFrom('transactions').select('id')
        .where('id', '=', input.transactionId).where((eb) => eb.or([eb('payer_user_id', '=', userId), eb('payee_user_id', '=', userId)])).executeTakeFirst();
      if (!txn) throw errors.not_found('No transaction of this account has this id.', 'transaction_id');
      request = { transaction_id: txn.id };
    }
    const caseId = await this.#d.db.transaction().execute((trx) => this.#open(trx, userId, input.type, request, 'asked by the user', checked));
    this.#d.engine.settle({ userId, operation: input.type === 'unfreeze' ? 'unfreeze' : 'voucher_request', outcome: 'succeeded', context });
    return this.get(userId, caseId);
  }

  async get(userId: string, caseId: string): Promise<IdentityCase> {
    const found = await this.#d.db.selectFrom('identity_cases').selectAll().where('id', '=', caseId).where('user_id', '=', userId).executeTakeFirst();
    if (!found) throw errors.not_found('No identity case of this account has this id.', 'case_id');
    return found;
  }

  async voucherOf(userId: string, voucherId: string): Promise<PlatformTables['transaction_vouchers']> {
    const found = await this.#d.db.selectFrom('transaction_vouchers').selectAll().where('id', '=', voucherId).where('user_id', '=', userId).executeTakeFirst();
    if (!found) throw errors.not_found('No voucher of this account has this id.', 'voucher_id');
    return found;
  }

  // ---- the review queue (risk reviewers) ----

  /** Cases waiting for a reviewer, oldest first. */
  async queue(limit = 50): Promise<IdentityCase[]> {
    return this.#d.db.selectFrom('identity_cases').selectAll().where('status', '=', 'pending_review').orderBy('created_at').orderBy('id')
      .limit(Math.min(Math.max(limit, 1), reviewQueuePageMax)).execute();
  }

  /** A case's photo, opened for a reviewer (the caller writes the look to the audit log). */
  async document(caseId: string, kind: DocumentKind): Promise<{ mediaType: string; bytes: Buffer }> {
    const row = await this.#d.db.selectFrom('identity_documents').selectAll().where('case_id', '=', caseId).where('kind', '=', kind).executeTakeFirst();
    if (!row || !row.sealed) throw errors.not_found('The case has no such photo (or it was deleted after its retention).', 'kind');
    return { mediaType: row.media_type, bytes: this.#unseal(caseId, kind, row.sealed) };
  }

  /** Approves a pending case and carries its operation out, in one database transaction. */
  async approve(caseId: string, reviewer: string, reason: string, also?: InTransaction): Promise<DecisionOutcome> {
    const now = this.#d.clock();
    let voucher: { id: string; pdf: Uint8Array; signature: string; transactionId: string } | undefined;
    const pending = await this.#pending(caseId);
    if (pending.type === 'voucher') voucher = await this.#makeVoucher(JSON.parse(pending.request).transaction_id as string, now);
    const carriedOut = await this.#d.db.transaction().execute(async (trx) => {
      const claimed = await trx.updateTable('identity_cases')
        .set({ status: 'approved', reviewer, decision_reason: reason, decided_at: now, documents_delete_after: new Date(now.getTime() + documentRetentionMs) })
        .where('id', '=', caseId).where('status', '=', 'pending_review').executeTakeFirst();
      if (claimed.numUpdatedRows === 0n) throw errors.identity_case_decided('The case was already decided.', 'case_id');
      await also?.(trx, pending);
      switch (pending.type) {
        case 'password_recovery':
          await setLoginPassword(trx, pending.user_id, JSON.parse(pending.request).password_hash as string, now);
          // The hash is not needed any more once it is the password.
          await trx.updateTable('identity_cases').set({ request: '{}', result: JSON.stringify({ password_changed: true }) }).where('id', '=', caseId).execute();
          return 'login password changed, every session revoked';
        case 'unfreeze':
          await trx.updateTable('payment_accounts').set({ status: 'active' }).where('user_id', '=', pending.user_id).where('status', '=', 'frozen').execute();
          await trx.updateTable('identity_cases').set({ result: JSON.stringify({ unfrozen: true }) }).where('id', '=', caseId).execute();
          return 'payment account unfrozen';
        case 'voucher':
          await trx.insertInto('transaction_vouchers').values({
            id: voucher!.id, case_id: caseId, user_id: pending.user_id, transaction_id: voucher!.transactionId, pdf: Buffer.from(voucher!.pdf),
            signature: voucher!.signature, created_at: now,
          }).execute();
          await trx.updateTable('identity_cases').set({ result: JSON.stringify({ voucher_id: voucher!.id }) }).where('id', '=', caseId).execute();
          return `voucher ${voucher!.id} issued`;
      }
    });
    return { case: await this.#pending(caseId, true), carriedOut };
  }

  /** Rejects a pending case; the reason is shown to the user. A rejected unfreeze leaves the account frozen. */
  async reject(caseId: string, reviewer: string, reason: string, also?: InTransaction): Promise<DecisionOutcome> {
    const now = this.#d.clock();
    const pending = await this.#pending(caseId);
    await this.#d.db.transaction().execute(async (trx) => {
      const rejected = await trx.updateTable('identity_cases')
        .set({ status: 'rejected', reviewer, decision_reason: reason, decided_at: now, documents_delete_after: new Date(now.getTime() + documentRetentionMs), request: '{}' })
        .where('id', '=', caseId).where('status', '=', 'pending_review').executeTakeFirst();
      if (rejected.numUpdatedRows === 0n) throw errors.identity_case_decided('The case was already decided.', 'case_id');
      await also?.(trx, pending);
    });
    return { case: await this.#pending(caseId, true), carriedOut: 'nothing' };
  }

  /** One case for a reviewer, with its photos' facts (not the photos). */
  async forReviewer(caseId: string): Promise<{ case: IdentityCase; documents: Array<Omit<PlatformTables['identity_documents'], 'sealed'>> }> {
    const found = await this.#pending(caseId, true);
    const documents = await this.#d.db.selectFrom('identity_documents')
      .select(['case_id', 'kind', 'media_type', 'width', 'height', 'size_bytes', 'created_at', 'deleted_at']).where('case_id', '=', caseId).execute();
    return { case: found, documents };
  }

  /** Deletes the photos of cases decided longer ago than the retention allows; answers how many. */
  async deleteExpiredDocuments(): Promise<number> {
    const now = this.#d.clock();
    const expired = this.#d.db.selectFrom('identity_cases').select('id').where('documents_delete_after', '<=', now);
    const deleted = await this.#d.db.updateTable('identity_documents').set({ sealed: null, deleted_at: now })
      .where('case_id', 'in', expired).where('sealed', 'is not', null).executeTakeFirst();
    return Number(deleted.numUpdatedRows);
  }

  async #pending(caseId: string, anyStatus = false): Promise<IdentityCase> {
    const found = await this.#d.db.selectFrom('identity_cases').selectAll().where('id', '=', caseId).executeTakeFirst();
    if (!found) throw errors.not_found('No identity case has this id.', 'case_id');
    if (!anyStatus && found.status !== 'pending_review') throw errors.identity_case_decided('The case was already decided.', 'case_id');
    return found;
  }

  async #makeVoucher(transactionId: string, now: Date): Promise<{ id: string; pdf: Uint8Array; signature: string; transactionId: string }> {
    const t = await this.#d.db.selectFrom('transactions').selectAll().where('id', '=', transactionId).executeTakeFirstOrThrow();
    const id = newId('vch');
    const pdf = await renderVoucher({
      id: t.id, type: t.type, status: t.status, amountFen: BigInt(t.amount_fen), currency: t.currency, channel: t.channel, interfaceType: t.interface_type,
      payer: { name: t.payer_name, account: t.payer_account }, payee: { name: t.payee_name, account: t.payee_account },
      merchant: t.merchant_name && t.merchant_code && t.mcc ? { name: t.merchant_name, code: t.merchant_code, mcc: t.mcc } : null,
      authorization: { method: t.authorization_method, factors: t.verification_factors, reference: t.authorization_reference },
      purpose: t.purpose, traceId: t.trace_id, createdAt: t.created_at, completedAt: t.completed_at,
    }, { id, issuedAt: now });
    return { id, pdf, signature: signVoucher(this.#d.voucherKey, pdf), transactionId: t.id };
  }

  #checkDocuments(documents: DocumentUploads): Record<DocumentKind, ReturnType<typeof checkIdentityImage>> {
    const out = {} as Record<DocumentKind, ReturnType<typeof checkIdentityImage>>;
    for (const kind of documentKinds) out[kind] = checkIdentityImage(documents[kind], `documents.${kind}`);
    return out;
  }

  async #open(trx: Kysely<PlatformTables>, userId: string, type: CaseType, request: Record<string, unknown>, why: string,
    documents: Record<DocumentKind, ReturnType<typeof checkIdentityImage>>): Promise<string> {
    const open = await trx.selectFrom('identity_cases').select('id').where('user_id', '=', userId).where('type', '=', type)
      .where('status', '=', 'pending_review').executeTakeFirst();
    if (open) throw errors.identity_case_open('A case of this kind is already waiting for review.', 'type', { case_id: open.id });
    const id = newId('idc');
    const now = this.#d.clock();
    await trx.insertInto('identity_cases').values({
      id, user_id: userId, type, status: 'pending_review', request: JSON.stringify(request), why, reviewer: null, decision_reason: null, result: null,
      created_at: now, decided_at: null, documents_delete_after: null,
    }).execute();
    for (const kind of documentKinds) {
      const { bytes, info } = documents[kind];
      await trx.insertInto('identity_documents').values({
        case_id: id, kind, media_type: info.mediaType, width: info.width, height: info.height, size_bytes: bytes.length,
        sealed: this.#seal(id, kind, bytes), created_at: now, deleted_at: null,
      }).execute();
    }
    return id;
  }

  /** `v1:<kek id>:<wrapped data key>:<iv ‖ tag ‖ ciphertext>`, bound to the case and the photo's kind. */
  #seal(caseId: string, kind: DocumentKind, bytes: Buffer): string {
    const dataKey = randomBytes(32);
    const kek = this.#d.personalDataKeys.keks.current();
    try {
      const wrapped = seal(kek.key, dataKey, `dek:identity_documents:${caseId}:${kind}`);
      const payload = seal(dataKey, bytes, `identity_documents:${caseId}:${kind}`);
      return ['v1', kek.id, wrapped.toString('base64'), payload.toString('base64')].join(':');
    } finally {
      dataKey.fill(0);
    }
  }

  #unseal(caseId: string, kind: DocumentKind, sealed: string): Buffer {
    const [format, kekId, wrapped, payload] = sealed.split(':');
    const kek = kekId ? this.#d.personalDataKeys.keks.byId(kekId) : undefined;
    if (format !== 'v1' || !kek || !wrapped || !payload) throw new Error(`identity document ${caseId}/${kind}: unknown seal or KEK`);
    const dataKey = unseal(kek, Buffer.from(wrapped, 'base64'), `dek:identity_documents:${caseId}:${kind}`);
    try {
      return unseal(dataKey, Buffer.from(payload, 'base64'), `identity_documents:${caseId}:${kind}`);
    } finally {
      dataKey.fill(0);
    }
  }
}

async function setLoginPassword(trx: Kysely<PlatformTables>, userId: string, passwordHash: string, now: Date): Promise<void> {
  await trx.updateTable('users').set({ password_hash: passwordHash, login_failed_count: 0, login_locked_until: null }).where('id', '=', userId).execute();
  await trx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

/** Why the engine sent a recovery to review, for the reviewer (rule ids and reasons; never shown to the user). */
function describeWhy(fired: Array<{ id: string; reason: string }>): string {
  return fired.map((f) => `${f.id}: ${f.reason}`).join('; ').slice(0, 1_000) || 'risk review';
}
