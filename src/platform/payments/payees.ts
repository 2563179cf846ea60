import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { errors } from '../errors.ts';
import { maskName } from '../payment-account/identity.ts';
import type { PaymentAccountRow, PaymentAccountService } from '../payment-account/service.ts';
import type { PlatformTables } from '../tables.ts';

/**
 * Who a transfer goes to. The payer names the payee by Mi account number (小米账号) or phone and
 * is shown the payee's masked real name (`*三`) with a confirmation; the transfer carries that
 * confirmation, so money goes to the person whose name the payer saw, once.
 *
 * The look-up tells whether a number or phone has a payment account and a masked name: it must
 * not become a directory. Only a payer with an active payment account may look up, and every
 * look-up (found or not) counts towards `payeeLookupPolicy`.
 */
export const payeeLookupPolicy = { perHourMax: 30, confirmationLifetimeMs: 5 * 60_000 } as const;

export interface PayeeConfirmation {
  id: string;
  payeeUserId: string;
  payeeMiNumber: string;
  payeePhone: string;
  payeeAccount: PaymentAccountRow;
  maskedName: string;
  expiresAt: Date;
}

export type PayeeReference = { miNumber: string } | { phone: string };

export class PayeeDirectory {
  readonly #db: Kysely<PlatformTables>;
  readonly #paymentAccounts: PaymentAccountService;
  readonly #clock: () => Date;

  constructor(db: Kysely<PlatformTables>, paymentAccounts: PaymentAccountService, clock: () => Date) {
    this.#db = db;
    this.#paymentAccounts = paymentAccounts;
    this.#clock = clock;
  }

  /** Looks a payee up for `payerUserId` (whose payment account the caller checked is active). */
  async lookUp(payerUserId: string, reference: PayeeReference): Promise<PayeeConfirmation> {
    const now = this.#clock();
    const param = 'miNumber' in reference ? 'mi_number' : 'phone';
    const hourAgo = new Date(now.getTime() - 3_600_000);
    const recent = await this.#db.selectFrom('payee_confirmations').select(['created_at'])
      .where('payer_user_id', '=', payerUserId).where('created_at', '>', hourAgo).orderBy('created_at')
        .limit(payeeLookupPolicy.perHourMax).execute();
    if (recent.length >= payeeLookupPolicy.perHourMax) {
      const retryAfterS = Math.max(1, Math.ceil((recent[0]!.created_at.getTime() + 3_600_000 - now.getTime()) / 1000));
      throw errors.rate_limited(`At most ${payeeLookupPolicy.perHourMax} payee look-ups an hour.`, param,
        { retry_after_s: retryAfterS });
    }
    let query = this.#db.selectFrom('users').select(['id', 'phone', 'mi_number']).where('status', '=', 'active');
    query = 'miNumber' in reference ? query.where('mi_number', '=', reference.miNumber) : query.where('phone', '=',
      reference.phone);
    const user = await query.executeTakeFirst();
    const account = user ? await this.#paymentAccounts.findByUser(user.id) : undefined;
    const found = user && account?.status === 'active' ? { user, account } : undefined;
    const id = `pcf_${randomBytes(18).toString('base64url')}`;
    const expiresAt = new Date(now.getTime() + payeeLookupPolicy.confirmationLifetimeMs);
    await this.#db.insertInto('payee_confirmations').values({
      id, payer_user_id: payerUserId, payee_user_id: found?.user.id ?? null, looked_up_by: 'miNumber' in reference ? 'mi_number' : 'phone',
      created_at: now, expires_at: expiresAt, used_at: null, used_by_transaction: null,
    }).execute();
    if (!found) throw errors.payee_not_found('No Mi account with a payment account has this number.', param);
    if (found.user.id === payerUserId) throw errors.payee_is_payer('A transfer needs another account; to move money to your own card, withdraw.', param);
    return {
      id, payeeUserId: found.user.id, payeeMiNumber: found.user.mi_number, payeePhone: found.user.phone, payeeAccount: found.account,
      maskedName: maskName(found.account.holder_name), expiresAt,
    };
  }

  /** A confirmation of this payer's, unexpired and unused (the transfer then claims it with `claim`). */
  async resolve(payerUserId: string, confirmationId: string): Promise<PayeeConfirmation> {
    const now = this.#clock();
    const row = await this.#db.selectFrom('payee_confirmations').selectAll().where('id', '=', confirmationId)
      .where('payer_user_id', '=', payerUserId).executeTakeFirst();
    if (!row || !row.payee_user_id || row.used_at || row.expires_at <= now) throw this.#invalid();
    const user = await this.#db.selectFrom('users').select(['id', 'phone', 'mi_number', 'status']).where('id', '=',
      row.payee_user_id).executeTakeFirstOrThrow();
    const account = await this.#paymentAccounts.findByUser(user.id);
    if (user.status !== 'active' || !account || account.status !== 'active') {
      throw errors.payee_not_found('The payee no longer has an active payment account.', 'payee_confirmation');
    }
    return {
      id: row.id, payeeUserId: user.id, payeeMiNumber: user.mi_number, payeePhone: user.phone, payeeAccount: account,
      maskedName: maskName(account.holder_name), expiresAt: row.expires_at,
    };
  }

  /** Spends the confirmation inside the transfer's database transaction; answers a refusal when it was spent meanwhile. */
  async claim(trx: Kysely<PlatformTables>, payerUserId: string, confirmationId: string,
    transactionId: string): Promise<Error | undefined> {
    const now = this.#clock();
    const claimed = await trx.updateTable('payee_confirmations').set({ used_at: now,
      used_by_transaction: transactionId })
      .where('id', '=', confirmationId).where('payer_user_id', '=', payerUserId).where('used_at', 'is', null)
        .where('expires_at', '>', now)
      .executeTakeFirst();
    return claimed.numUpdatedRows === 0n ? this.#invalid() : undefined;
  }

  #invalid(): Error {
    return errors.payee_confirmation_invalid(
      'The payee confirmation is unknown, already used or expired; look the payee up again and confirm the name.', 'payee_confirmation');
  }
}
