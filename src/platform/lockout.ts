import { sql, type Kysely } from 'kysely';
import type { PlatformTables } from './tables.ts';

/**
 * A wrong-password counter that locks after `triesMax` failures for `lockMs`. The counting is
 * one UPDATE per try, so concurrent wrong tries cannot slip past the limit; a lock that has run
 * out starts the count again from zero.
 */
export interface Lockout {
  table: 'users' | 'payment_accounts' | 'staff';
  failedColumn: 'login_failed_count' | 'password_failed_count' | 'reset_failed_count';
  lockedUntilColumn: 'login_locked_until' | 'password_locked_until' | 'reset_locked_until';
  triesMax: number;
  lockMs: number;
}

export type LockState = { locked: false; failedCount: number } | { locked: true; lockedUntil: Date };

export function lockStateOf(row: { failed: number; lockedUntil: Date | null }, now: Date): LockState {
  if (row.lockedUntil && row.lockedUntil.getTime() > now.getTime()) return { locked: true, lockedUntil: row.lockedUntil };
  return { locked: false, failedCount: row.lockedUntil ? 0 : row.failed };
}

/** Counts one wrong try; answers how many remain, or the lock it caused. */
export async function recordFailure(db: Kysely<PlatformTables>, lockout: Lockout, id: string, now: Date): Promise<LockState & { triesLeft: number }> {
  const failed = sql.ref(lockout.failedColumn);
  const lockedUntil = sql.ref(lockout.lockedUntilColumn);
  const lockEnds = new Date(now.getTime() + lockout.lockMs);
  // A lock that has run out restarts the count: this try is the first of a new series.
  const newCount = sql<number>`case when ${lockedUntil} is not null and ${lockedUntil} <= ${now} then 1 else ${failed} + 1 end`;
  const updated = await (db as Kysely<any>)
    .updateTable(lockout.table)
    .set({
      [lockout.failedColumn]: newCount,
      [lockout.lockedUntilColumn]: sql`case
        when ${lockedUntil} is not null and ${lockedUntil} > ${now} then ${lockedUntil}
        when ${newCount} >= ${lockout.triesMax} then ${lockEnds}::timestamptz
        else null end`,
    })
    .where('id', '=', id)
    .returning([sql<number>`${failed}`.as('failed'), sql<Date | null>`${lockedUntil}`.as('locked_until')])
    .executeTakeFirst();
  if (!updated) throw new Error(`recordFailure: no ${lockout.table} row ${id}`);
  const lockedUntilValue = updated.locked_until === null ? null : new Date(updated.locked_until);
  if (lockedUntilValue && lockedUntilValue.getTime() > now.getTime()) return { locked: true, lockedUntil: lockedUntilValue, triesLeft: 0 };
  return { locked: false, failedCount: updated.failed, triesLeft: lockout.triesMax - updated.failed };
}

/**
 * Clears the counter after a right password, unless a lock started meanwhile (a concurrent
 * wrong try): then the right password arrived during a lock and does not count. Returns false
 * in that case.
 */
export async function recordSuccess(db: Kysely<PlatformTables>, lockout: Lockout, id: string, now: Date): Promise<boolean> {
  const lockedUntil = sql.ref(lockout.lockedUntilColumn);
  const result = await (db as Kysely<any>)
    .updateTable(lockout.table)
    .set({ [lockout.failedColumn]: 0, [lockout.lockedUntilColumn]: null })
    .where('id', '=', id)
    .where(sql<boolean>`(${lockedUntil} is null or ${lockedUntil} <= ${now})`)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
