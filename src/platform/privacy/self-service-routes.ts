import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import { ApiError } from '../../infra/http/errors.ts';
import { renameParam, type AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors } from '../errors.ts';
import { remainingLimits } from '../payment-account/remaining-limits.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';
import type { PlatformTables } from '../tables.ts';

const fen = (description: string) => z.string().regex(/^[0-9]+$/).describe(`${description}, in fen (decimal string)`);

/** Self-service on the payment account: change the payment password with the old one; see what the limits leave. */
export function registerSelfServiceRoutes(app: App, deps: { db: Kysely<PlatformTables>; accounts: AccountService; paymentAccounts: PaymentAccountService; clock: () => Date }): void {
  const session = requireSession(deps.accounts);
  const security = [{ session: [] }];
  const tags = ['payment-account'];

  app.put('/v1/payment-account/password', {
    preHandler: session,
    schema: { security, tags, summary: 'Change the payment password with the old one',
      description: 'A wrong old password counts toward the 5-try payment lock. A forgotten one is reset instead (POST /v1/payment-account/password/reset).',
      errors: [errors.payment_account_not_found, errors.payment_password_wrong, errors.payment_password_locked, errors.payment_password_too_weak,
        errors.parameter_invalid],
      body: z.object({
        old_payment_password: z.string().min(1).max(64).describe('The current 6-digit payment password'),
        new_payment_password: z.string().min(1).max(64).describe('The new 6-digit payment password (not a trivial sequence)'),
      }), response: { 200: z.object({ changed: z.literal(true).describe('Changed') }) } },
  }, async (request) => {
    try {
      await deps.paymentAccounts.changePaymentPassword(caller(request).user.id, request.body.old_payment_password, request.body.new_payment_password);
    } catch (error) {
      // The service names `payment_password`: a weak one is the new password, a wrong one the old.
      const weak = error instanceof ApiError && error.code === 'payment_password_too_weak';
      throw renameParam(error, 'payment_password', weak ? 'new_payment_password' : 'old_payment_password');
    }
    return { changed: true as const };
  });

  app.get('/v1/payment-account/limits', {
    preHandler: session,
    schema: { security, tags, summary: 'What the class and daily limits leave for balance payments',
      description: 'The class limit (Class I since opening, II/III this calendar year) and today\'s (Beijing time) limits by verification strength, each with used and remaining.',
      errors: [errors.payment_account_not_found], response: { 200: z.object({
        account_class: z.enum(['I', 'II', 'III']).describe('The class whose limits apply'),
        class_period: z.enum(['since_opening', 'calendar_year']).describe('What the class limit counts'),
        class_limit_fen: fen('The class limit'), class_used_fen: fen('Used in the class period'), class_remaining_fen: fen('Left in the class period'),
        day: z.string().describe('The Beijing-time day of the daily figures'),
        daily_limit_fen: fen('Today\'s limit with two factors'), daily_used_fen: fen('Used today'), daily_remaining_fen: fen('Left today with two factors'),
        daily_fewer_than_two_factors_limit_fen: fen('Today\'s limit with fewer than two factors (password-free)'),
        daily_fewer_than_two_factors_remaining_fen: fen('Left today with fewer than two factors'),
      }) } },
  }, async (request) => {
    const r = await remainingLimits(deps.db, deps.paymentAccounts, caller(request).user.id, deps.clock());
    return {
      account_class: r.accountClass, class_period: r.classPeriod, class_limit_fen: String(r.classLimitFen), class_used_fen: String(r.classUsedFen),
      class_remaining_fen: String(r.classRemainingFen), day: r.day, daily_limit_fen: String(r.dailyTwoFactorsLimitFen), daily_used_fen: String(r.dailyUsedFen),
      daily_remaining_fen: String(r.dailyTwoFactorsRemainingFen), daily_fewer_than_two_factors_limit_fen: String(r.dailyFewerThanTwoFactorsLimitFen),
      daily_fewer_than_two_factors_remaining_fen: String(r.dailyFewerThanTwoFactorsRemainingFen),
    };
  });
}
