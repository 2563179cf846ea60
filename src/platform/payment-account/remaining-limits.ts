import type { Kysely } from 'kysely';
import { limitBuckets, limitUsage } from '../payments/limits.ts';
import type { PlatformTables } from '../tables.ts';
import { classRules, dailyLimitsFen } from './classes.ts';
import type { PaymentAccountService } from './service.ts';

export interface RemainingLimits {
  accountClass: 'I' | 'II' | 'III';
  classPeriod: 'since_opening' | 'calendar_year';
  classLimitFen: bigint; classUsedFen: bigint; classRemainingFen: bigint;
  dailyTwoFactorsLimitFen: bigint; dailyUsedFen: bigint; dailyTwoFactorsRemainingFen: bigint;
  dailyFewerThanTwoFactorsLimitFen: bigint; dailyFewerThanTwoFactorsUsedFen: bigint; dailyFewerThanTwoFactorsRemainingFen: bigint;
  /** The Beijing-time day the daily figures are for. */
  day: string;
}

const left = (limit: bigint, used: bigint) => (limit > used ? limit - used : 0n);

/** What the holder can still pay from the balance: by class (since opening or this year) and today (PBOC No. 43 Art. 11–12, 24). */
export async function remainingLimits(db: Kysely<PlatformTables>, paymentAccounts: PaymentAccountService, userId: string, at: Date): Promise<RemainingLimits> {
  const view = await paymentAccounts.view(userId);
  const used = await limitUsage(db, view.account.id, at);
  const rule = classRules[view.effectiveClass];
  const classUsed = rule.balancePaymentsPeriod === 'since_opening' ? used.sinceOpening : used.year;
  return {
    accountClass: view.effectiveClass, classPeriod: rule.balancePaymentsPeriod,
    classLimitFen: rule.balancePaymentsLimitFen, classUsedFen: classUsed, classRemainingFen: left(rule.balancePaymentsLimitFen, classUsed),
    dailyTwoFactorsLimitFen: dailyLimitsFen.twoFactors, dailyUsedFen: used.dayAll, dailyTwoFactorsRemainingFen: left(dailyLimitsFen.twoFactors, used.dayAll),
    dailyFewerThanTwoFactorsLimitFen: dailyLimitsFen.fewerThanTwoFactors, dailyFewerThanTwoFactorsUsedFen: used.dayFewerThanTwoFactors,
    // A payment with fewer than two factors counts in both daily buckets, so the smaller remainder binds.
    dailyFewerThanTwoFactorsRemainingFen: [left(dailyLimitsFen.fewerThanTwoFactors, used.dayFewerThanTwoFactors), left(dailyLimitsFen.twoFactors, used.dayAll)]
      .reduce((a, b) => (a < b ? a : b)),
    day: limitBuckets(at).dayAll.slice(4, 14),
  };
}
