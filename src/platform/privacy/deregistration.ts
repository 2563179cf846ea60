import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { errors } from '../errors.ts';
import type { PrivacyRequests } from './requests.ts';
import type { PrivacySections } from './sections.ts';
import type { PrivacyDb } from './tables.ts';

/** Why the payment service cannot be deregistered yet (五(四)); each comes with what to do. */
export interface DeregistrationBlocker { code: string; message: string }
/** A domain's reason to refuse (support: an open dispute); registered at wiring. */
export type DeregistrationCheck = (userId: string) => Promise<DeregistrationBlocker | undefined>;

/** The narrow ports deregistration uses: the balance, the bound cards, the devices' bank cards. */
export interface DeregistrationPorts {
  balanceFen(userId: string): Promise<{ availableFen: bigint; pendingOutFen: bigint }>;
  activeCardIds(userId: string): Promise<string[]>;
  /** Ends the quick-pay agreement at the bank; the card's device cards are deleted at the TSP with it. */
  unbindCard(userId: string, cardId: string): Promise<void>;
  /** Deletes every bank device card left on the user's devices. */
  deleteDeviceCards(userId: string): Promise<void>;
  /** Ends every live session. */
  endSessions(userId: string): Promise<void>;
}

/**
 * Deregistration (五(四)): of the payment service — refused with every reason that applies
 * while money is in play, otherwise cards unbound at their banks, device cards deleted, the
 * payment account closed, at once — and of the Mi account on top: sessions ended, each privacy
 * section's `erase` run, the account closed and its profile anonymised. Each is recorded as a
 * `deletion` request, so the user sees its status with the others.
 */
export class Deregistration {
  readonly #db: Kysely<PrivacyDb>;
  readonly #ports: DeregistrationPorts;
  readonly #sections: PrivacySections;
  readonly #requests: PrivacyRequests;
  readonly #clock: () => Date;
  readonly #checks: DeregistrationCheck[] = [];

  constructor(options: { db: Kysely<PrivacyDb>; ports: DeregistrationPorts; sections: PrivacySections; requests: PrivacyRequests; clock: () => Date }) {
    this.#db = options.db;
    this.#ports = options.ports;
    this.#sections = options.sections;
    this.#requests = options.requests;
    this.#clock = options.clock;
  }

  addCheck(check: DeregistrationCheck): void {
    this.#checks.push(check);
  }

  /** Every reason the payment service cannot be deregistered now (empty: it can). */
  async blockers(userId: string): Promise<DeregistrationBlocker[]> {
    const account = await this.#db.selectFrom('payment_accounts').select(['id', 'status']).where('user_id', '=', userId).executeTakeFirst();
    if (!account || account.status === 'closed') return [];
    const found: DeregistrationBlocker[] = [];
    const balance = await this.#ports.balanceFen(userId);
    if (balance.availableFen !== 0n) {
      found.push({ code: 'balance_not_zero', message: `The balance is ¥${(Number(balance.availableFen) / 100).toFixed(2)}; withdraw it to a bound card first.` });
    }
    const pending = await this.#db.selectFrom('transactions').select(['type']).where('status', '=', 'pending')
      .where((eb) => eb.or([eb('payer_user_id', '=', userId), eb('payee_user_id', '=', userId)])).limit(10).execute();
    if (balance.pendingOutFen !== 0n || pending.some((t) => t.type !== 'refund')) {
      found.push({ code: 'payment_pending', message: 'A payment is still pending at a bank; wait until it completes.' });
    }
    if (pending.some((t) => t.type === 'refund')) found.push({ code: 'refund_pending', message: 'A refund is still pending; wait until it completes.' });
    for (const check of this.#checks) {
      const blocker = await check(userId);
      if (blocker) found.push(blocker);
    }
    return found;
  }

  /** Deregisters the payment service, or refuses with every reason that applies. */
  async deregisterPaymentService(userId: string): Promise<{ requestId: string }> {
    const account = await this.#db.selectFrom('payment_accounts').select(['id', 'status']).where('user_id', '=', userId).executeTakeFirst();
    if (!account) throw errors.payment_account_not_found('This Mi account has no payment account to deregister.');
    const request = await this.#requests.submit(userId, 'deletion', 'Deregister the payment service (五(四))');
    const blockers = await this.blockers(userId);
    if (blockers.length > 0) {
      await this.#requests.answer(request.id, { status: 'refused', reason: 'legal_retention', answer: blockers.map((b) => b.message).join(' ') });
      throw errors.deregistration_refused(`The payment service cannot be deregistered yet: ${blockers.map((b) => b.message).join(' ')}`, undefined,
        { reasons: blockers.map((b) => b.code), request_id: request.id });
    }
    if (account.status !== 'closed') {
      for (const cardId of await this.#ports.activeCardIds(userId)) await this.#ports.unbindCard(userId, cardId);
      await this.#ports.deleteDeviceCards(userId);
      await this.#db.updateTable('payment_accounts').set({ status: 'closed' }).where('id', '=', account.id).execute();
    }
    await this.#requests.answer(request.id, { status: 'completed', answer: 'Cards unbound at the banks, device cards deleted, payment account closed.' });
    return { requestId: request.id };
  }

  /**
   * Deregisters the Mi account: the payment service first (same refusals), then sessions end,
   * every section erases what it holds beyond the law's retention, and the account is closed
   * with its profile anonymised. The phone number is freed for a new sign-up.
   */
  async deregisterMiAccount(userId: string): Promise<{ requestId: string }> {
    const account = await this.#db.selectFrom('payment_accounts').select('status').where('user_id', '=', userId).executeTakeFirst();
    if (account && account.status !== 'closed') await this.deregisterPaymentService(userId);
    const request = await this.#requests.submit(userId, 'deletion', 'Deregister the Mi account (五(四))');
    await this.#ports.endSessions(userId);
    for (const section of this.#sections.all()) await section.erase?.(userId);
    await this.#requests.answer(request.id, { status: 'completed', answer: 'Sessions ended, personal data deleted or anonymised; AML records kept as the law requires.' });
    // Last, so the request above is still the user's to see until the account closes.
    await this.#db.updateTable('users').set({ status: 'closed', nickname: '已注销', avatar_url: null, phone: `closed-${randomUUID()}` })
      .where('id', '=', userId).execute();
    return { requestId: request.id };
  }
}
