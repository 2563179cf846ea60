import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { PlatformTables } from '../tables.ts';

/** Totals over every ledger account; in a healthy ledger debits equal credits, posted and pending alike. */
export interface LedgerTotals {
  accounts: bigint;
  debitsPostedFen: bigint;
  creditsPostedFen: bigint;
  debitsPendingFen: bigint;
  creditsPendingFen: bigint;
  /** Accounts flagged never-negative (wallets, merchants, fees) whose debits exceed their credits. */
  negativeGuardedAccounts: bigint;
  /** Accounts whose counters differ from a replay of the immutable transfers. */
  accountsOffTheirTransfers: bigint;
}

/**
 * Reads the ledger's totals in one snapshot (REPEATABLE READ: no batch lands between the reads)
 * and asserts the invariants of DESIGN section 3: the sum of all balances is 0, posted and pending;
 * no never-negative account is below zero; every account's counters equal what its transfers add
 * up to. A failure is a bug, so it throws an AssertionError. This scans every transfer: run it in
 * tests, benchmarks and audits, not per request.
 */
export async function assertLedgerInvariants(db: Kysely<PlatformTables>): Promise<LedgerTotals> {
  const totals = await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const { rows } = await sql<{ [K in keyof LedgerTotals]: bigint }>`
      with replay as (
        select t.debit_account_id as account_id,
               sum(case when t.kind = 'posted' or t.kind = 'post_pending' then t.amount else 0 end) as debits_posted,
               sum(case when t.kind = 'pending' then t.amount when t.kind in ('post_pending', 'void_pending') then -p.amount else 0 end) as debits_pending,
               0::numeric as credits_posted, 0::numeric as credits_pending
          from platform.ledger_transfers t left join platform.ledger_transfers p on p.id = t.pending_id
         group by t.debit_account_id
        union all
        select t.credit_account_id,
               0, 0,
               sum(case when t.kind = 'posted' or t.kind = 'post_pending' then t.amount else 0 end),
               sum(case when t.kind = 'pending' then t.amount when t.kind in ('post_pending', 'void_pending') then -p.amount else 0 end)
          from platform.ledger_transfers t left join platform.ledger_transfers p on p.id = t.pending_id
         group by t.credit_account_id
      ), expected as (
        select account_id, sum(debits_posted) as dpo, sum(debits_pending) as dpe, sum(credits_posted) as cpo, sum(credits_pending) as cpe
          from replay group by account_id
      )
      select count(*)::bigint as accounts,
             coalesce(sum(a.debits_posted), 0)::bigint as "debitsPostedFen",
             coalesce(sum(a.credits_posted), 0)::bigint as "creditsPostedFen",
             coalesce(sum(a.debits_pending), 0)::bigint as "debitsPendingFen",
             coalesce(sum(a.credits_pending), 0)::bigint as "creditsPendingFen",
             count(*) filter (where a.debits_must_not_exceed_credits and a.debits_posted + a.debits_pending > a.credits_posted)::bigint
               as "negativeGuardedAccounts",
             count(*) filter (where a.debits_posted <> coalesce(e.dpo, 0) or a.debits_pending <> coalesce(e.dpe, 0)
               or a.credits_posted <> coalesce(e.cpo, 0) or a.credits_pending <> coalesce(e.cpe, 0))::bigint
               as "accountsOffTheirTransfers"
        from platform.ledger_accounts a left join expected e on e.account_id = a.id`.execute(trx);
    return rows[0]!;
  });
  assert.equal(totals.debitsPostedFen, totals.creditsPostedFen, 'ledger invariant: posted debits equal posted credits');
  assert.equal(totals.debitsPendingFen, totals.creditsPendingFen, 'ledger invariant: pending debits equal pending credits');
  assert.equal(totals.negativeGuardedAccounts, 0n, 'ledger invariant: no wallet, merchant or fee account is negative');
  assert.equal(totals.accountsOffTheirTransfers, 0n, 'ledger invariant: account counters equal the sum of their transfers');
  return totals;
}
