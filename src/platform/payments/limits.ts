import { sql, type Kysely } from 'kysely';
import { errors } from '../errors.ts';
import { classRules, dailyLimitsFen, type AccountClass } from '../payment-account/classes.ts';
import type { PlatformTables } from '../tables.ts';

/**
 * Limits on balance payments (PBOC [2015] No. 43): by class (Art. 11–12) and per day by the
 * strength of the verification (Art. 24). Usage is kept per bucket in `limit_usage`; a payment
 * reserves its amount in every bucket it counts in, in the same transaction that records it,
 * while holding the payment account's row lock — so concurrent payments cannot overshoot a
 * limit by a fen. A payment that then fails gives its reservation back.
 */
export interface LimitBuckets {
  sinceOpening: string;
  year: string;
  dayAll: string;
  dayFewerThanTwoFactors: string;
}

/** Periods are counted in Beijing time: a day starts at 00:00 in China whatever the server's zone. */
export function limitBuckets(at: Date): LimitBuckets {
  const beijing = new Date(at.getTime() + 8 * 3_600_000).toISOString();
  const day = beijing.slice(0, 10);
  return { sinceOpening: 'class:since_opening', year: `class:year:${beijing.slice(0, 4)}`, dayAll: `day:${day}:all`, dayFewerThanTwoFactors: `day:${day}:lt2` };
}

function bucketsFor(at: Date, factors: number): string[] {
  const b = limitBuckets(at);
  return factors >= 2 ? [b.sinceOpening, b.year, b.dayAll] : [b.sinceOpening, b.year, b.dayAll, b.dayFewerThanTwoFactors];
}

/**
 * Checks and reserves. The caller holds the payment account's row lock (`for update`), which
 * serialises one account's payments; other accounts proceed in parallel.
 */
export async function reserveLimits(trx: Kysely<PlatformTables>, input: {
  accountId: string; accountClass: AccountClass; amountFen: bigint; factors: number; at: Date;
  /** The certificate tier (a certificate's signature + another factor): the agreed daily limit replaces ¥5,000. */
  certificateDailyLimitFen?: bigint | null | undefined;
}): Promise<void> {
  const b = limitBuckets(input.at);
  const names = bucketsFor(input.at, input.factors);
  const rows = await trx.selectFrom('limit_usage').select(['bucket', 'used_fen']).where('account_id', '=', input.accountId).where('bucket', 'in', names).execute();
  const used = (bucket: string) => rows.find((r) => r.bucket === bucket)?.used_fen ?? 0n;
  const rule = classRules[input.accountClass];
  const checks: Array<{ bucket: string; limitFen: bigint; kind: string }> = [
    rule.balancePaymentsPeriod === 'since_opening'
      ? { bucket: b.sinceOpening, limitFen: rule.balancePaymentsLimitFen, kind: `class_${input.accountClass}_since_opening` }
      : { bucket: b.year, limitFen: rule.balancePaymentsLimitFen, kind: `class_${input.accountClass}_per_year` },
    input.certificateDailyLimitFen
      ? { bucket: b.dayAll, limitFen: input.certificateDailyLimitFen, kind: 'daily_certificate_agreed' }
      : { bucket: b.dayAll, limitFen: dailyLimitsFen.twoFactors, kind: 'daily_two_factors' },
  ];
  if (input.factors < 2) checks.push({ bucket: b.dayFewerThanTwoFactors, limitFen: dailyLimitsFen.fewerThanTwoFactors, kind: 'daily_fewer_than_two_factors' });
  for (const check of checks) {
    const remaining = check.limitFen - used(check.bucket);
    if (input.amountFen > remaining) {
      const hint = check.kind === 'daily_fewer_than_two_factors' ? ' Confirm with an SMS code (two factors) to pay up to ¥5,000 a day.'
        : check.kind.startsWith('class_I_') ? ' Add verification channels and the AML data to reach Class II.' : '';
      throw errors.limit_exceeded(`This payment would pass the ${check.kind.replaceAll('_', ' ')} limit.${hint}`, 'amount_fen', {
        limit: check.kind, limit_fen: Number(check.limitFen), remaining_fen: Number(remaining > 0n ? remaining : 0n),
      });
    }
  }
  for (const bucket of names) {
    await trx.insertInto('limit_usage').values({ account_id: input.accountId, bucket, used_fen: input.amountFen })
      .onConflict((oc) => oc.columns(['account_id', 'bucket']).doUpdateSet({ used_fen: sql`limit_usage.used_fen + ${input.amountFen}` })).execute();
  }
}

/** Gives back what `reserveLimits` took for a payment that did not happen. */
export async function releaseLimits(trx: Kysely<PlatformTables>, input: { accountId: string; amountFen: bigint; factors: number; at: Date }): Promise<void> {
  await trx.updateTable('limit_usage').set({ used_fen: sql`used_fen - ${input.amountFen}` })
    .where('account_id', '=', input.accountId).where('bucket', 'in', bucketsFor(input.at, input.factors)).execute();
}

/** What is left today and in the class period, for display. */
export async function limitUsage(db: Kysely<PlatformTables>, accountId: string, at: Date): Promise<Record<keyof LimitBuckets, bigint>> {
  const b = limitBuckets(at);
  const rows = await db.selectFrom('limit_usage').select(['bucket', 'used_fen']).where('account_id', '=', accountId).where('bucket', 'in', Object.values(b)).execute();
  const used = (bucket: string) => rows.find((r) => r.bucket === bucket)?.used_fen ?? 0n;
  return { sinceOpening: used(b.sinceOpening), year: used(b.year), dayAll: used(b.dayAll), dayFewerThanTwoFactors: used(b.dayFewerThanTwoFactors) };
}
