/**
 * Payment account classes and limits (PBOC Announcement [2015] No. 43, Articles 11–12, 24).
 * A class follows from how many external channels verified the holder's identity; Class II and
 * III limits apply only once the AML supplementary data is complete. Transfers to the holder's
 * own bank card do not count towards these limits.
 */
export type AccountClass = 'I' | 'II' | 'III';

export interface ClassRule {
  channelsMin: number;
  /** Balance payments: in total since opening (Class I) or per calendar year (II, III). */
  balancePaymentsPeriod: 'since_opening' | 'calendar_year';
  balancePaymentsLimitFen: bigint;
}

export const classRules: Record<AccountClass, ClassRule> = {
  I: { channelsMin: 1, balancePaymentsPeriod: 'since_opening', balancePaymentsLimitFen: 100_000n },
  II: { channelsMin: 3, balancePaymentsPeriod: 'calendar_year', balancePaymentsLimitFen: 10_000_000n },
  III: { channelsMin: 5, balancePaymentsPeriod: 'calendar_year', balancePaymentsLimitFen: 20_000_000n },
};

/**
 * Daily limits by verification strength (Article 24): fewer than two factors (e.g. password-free
 * small payments) ¥1,000 a day; two factors ¥5,000 a day; a digital certificate or electronic
 * signature with two factors, as agreed with the customer (no platform-wide limit).
 */
export const dailyLimitsFen = {
  fewerThanTwoFactors: 100_000n,
  twoFactors: 500_000n,
} as const;

export function classForChannels(channelCount: number): AccountClass | undefined {
  if (channelCount >= classRules.III.channelsMin) return 'III';
  if (channelCount >= classRules.II.channelsMin) return 'II';
  if (channelCount >= classRules.I.channelsMin) return 'I';
  return undefined;
}

/** The class whose limits apply: Class II and III need the AML supplementary data. */
export function effectiveClass(channelCount: number, amlComplete: boolean): AccountClass {
  const byChannels = classForChannels(channelCount) ?? 'I';
  return amlComplete ? byChannels : 'I';
}
