import { sql, type Kysely } from 'kysely';
import { createTransfersFunctionSql } from '../ledger/create-transfers-sql.ts';

/**
 * The double-entry ledger (DESIGN section 3, TigerBeetle-style): accounts carry four bigint
 * counters in fen, transfers are immutable rows, and a post or void of a hold is a new transfer
 * that names the pending one.
 */
export const ledger = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('ledger_accounts')
      // Ids are chosen by the caller (`wallet:pa_…`, `bank_settlement:CMB`), so creating an account is idempotent.
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('user_wallet', 'bank_settlement', 'fee', 'merchant', 'float', 'test')`))
      .addColumn('debits_must_not_exceed_credits', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('credits_must_not_exceed_debits', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('code', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('user_data', 'text')
      .addColumn('debits_pending', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`debits_pending >= 0`))
      .addColumn('debits_posted', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`debits_posted >= 0`))
      .addColumn('credits_pending', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`credits_pending >= 0`))
      .addColumn('credits_posted', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`credits_posted >= 0`))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      // The batch function refuses such transfers first; these checks are the last line, and a
      // violation there is a bug that fails the whole batch loudly instead of a wallet going negative.
      .addCheckConstraint('ledger_accounts_debits_within_credits',
        sql`not debits_must_not_exceed_credits or debits_posted + debits_pending <= credits_posted`)
      .addCheckConstraint('ledger_accounts_credits_within_debits',
        sql`not credits_must_not_exceed_debits or credits_posted + credits_pending <= debits_posted`)
      // Every batch rewrites the rows of the accounts it touches; room on each page lets PostgreSQL
      // update in place (HOT) instead of also writing the primary key index.
      .modifyEnd(sql`with (fillfactor = 50)`)
      .execute();

    await db.schema
      .createTable('ledger_transfers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      // Commit order within the ledger; a batch's transfers get consecutive values in request order.
      // Unique by construction (identity), so no index of its own: each index is paid per insert.
      .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity())
      // No foreign keys to ledger_accounts: the batch function looks every account up under a row
      // lock before it writes, accounts are never deleted, and a per-row FK trigger would double
      // the cost of a batch insert.
      .addColumn('debit_account_id', 'text', (c) => c.notNull())
      .addColumn('credit_account_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('posted', 'pending', 'post_pending', 'void_pending')`))
      .addColumn('pending_id', 'text')
      .addColumn('timeout_seconds', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expires_at', 'timestamptz')
      .addColumn('code', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('user_data', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addCheckConstraint('ledger_transfers_pending_id_iff_resolution',
        sql`(kind in ('post_pending', 'void_pending')) = (pending_id is not null)`)
      .addCheckConstraint('ledger_transfers_accounts_differ', sql`debit_account_id <> credit_account_id`)
      .execute();
    // A hold is posted or voided at most once, even by two writers racing on it.
    await db.schema.createIndex('ledger_transfers_pending_id_unique').on('ledger_transfers').column('pending_id').unique()
      .where(sql.ref('pending_id'), 'is not', null).execute();
    // The expiry sweep finds holds past their timeout without scanning every transfer.
    await db.schema.createIndex('ledger_transfers_expiring').on('ledger_transfers').column('expires_at')
      .where(sql.ref('kind'), '=', 'pending').execute();
    // An account's history, newest first, for statements.
    await db.schema.createIndex('ledger_transfers_debit_account').on('ledger_transfers').columns(['debit_account_id', 'seq']).execute();
    await db.schema.createIndex('ledger_transfers_credit_account').on('ledger_transfers').columns(['credit_account_id', 'seq']).execute();

    await sql.raw(createTransfersFunctionSql).execute(db);
  },
};
