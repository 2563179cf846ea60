import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { migrateSchema, type Database } from '../../infra/db/database.ts';
import { openTestDatabase } from '../../infra/db/test-database.ts';
import { platformMigrations, platformSchema } from '../migrations/index.ts';
import type { PlatformTables } from '../tables.ts';
import { availableFen, bankSettlementAccount, platformAccounts, postedBalanceFen, walletAccount } from './accounts.ts';
import { assertLedgerInvariants } from './invariants.ts';
import { Ledger } from './ledger.ts';

describe('ledger', () => {
  let database: Database;
  let db: Kysely<PlatformTables>;
  let ledger: Ledger;
  let serial = 0;
  const id = (prefix: string) => `${prefix}_${++serial}`;

  before(async () => {
    database = await openTestDatabase();
    await migrateSchema(database, platformSchema, platformMigrations);
    db = database.forSchema<PlatformTables>(platformSchema);
    ledger = new Ledger(db);
    assert.deepEqual(new Set(await ledger.createAccounts(platformAccounts(['CMB', 'ICBC']))), new Set(['ok']));
  });
  after(async () => {
    await assertLedgerInvariants(db);
    await ledger.close();
    await database.close();
  });

  /** A wallet topped up from the CMB settlement account. */
  async function fundedWallet(balanceFen: bigint): Promise<string> {
    const wallet = walletAccount(id('pa'));
    assert.deepEqual(await ledger.createAccounts([wallet]), ['ok']);
    if (balanceFen > 0n) {
      assert.equal(await ledger.createTransfer({
        id: id('topup'), debitAccountId: bankSettlementAccount('CMB').id, creditAccountId: wallet.id, amountFen: balanceFen,
      }), 'ok');
    }
    return wallet.id;
  }

  async function balanceOf(accountId: string) {
    const account = await ledger.lookupAccount(accountId);
    assert.ok(account);
    return { posted: postedBalanceFen(account), available: availableFen(account), account };
  }

  test('accounts open once; the same id with other fields is refused', async () => {
    const wallet = walletAccount(id('pa'));
    assert.deepEqual(await ledger.createAccounts([wallet, wallet]), ['ok', 'exists']);
    assert.deepEqual(await ledger.createAccounts([{ ...wallet, debitsMustNotExceedCredits: false }]), ['exists_with_different_fields']);
    assert.deepEqual(await ledger.createAccounts([
      { id: '', kind: 'test' }, { id: 'x'.repeat(129), kind: 'test' },
      { id: id('acct'), kind: 'test', debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true },
    ]), ['id_must_not_be_empty', 'id_too_long', 'flags_are_mutually_exclusive']);
    const [account] = await ledger.lookupAccounts([wallet.id]);
    assert.equal(account?.kind, 'user_wallet');
    assert.equal(account?.debitsPostedFen, 0n);
  });

  test('a posted transfer moves bigint fen from one account to the other', async () => {
    const a = await fundedWallet(10_000n);
    const b = await fundedWallet(0n);
    assert.equal(await ledger.createTransfer({ id: id('t'), debitAccountId: a, creditAccountId: b, amountFen: 2_501n, code: 3, userData: 'txn_1' }), 'ok');
    assert.equal((await balanceOf(a)).posted, 7_499n);
    assert.equal((await balanceOf(b)).posted, 2_501n);
    const [history] = await ledger.listAccountTransfers(b, { limit: 10 });
    assert.equal(history?.amountFen, 2_501n);
    assert.equal(history?.code, 3);
    assert.equal(history?.userData, 'txn_1');
    assert.equal(typeof history?.seq, 'bigint');
  });

  test('a wallet never goes negative: insufficient funds is a result, and spares the rest of the batch', async () => {
    const a = await fundedWallet(1_000n);
    const b = await fundedWallet(0n);
    const results = await ledger.createTransfers([
      { id: id('t'), debitAccountId: a, creditAccountId: b, amountFen: 600n },
      { id: id('t'), debitAccountId: a, creditAccountId: b, amountFen: 600n },
      // Later transfers in a batch see earlier ones: b can now pay 600 on.
      { id: id('t'), debitAccountId: b, creditAccountId: a, amountFen: 600n },
      { id: id('t'), debitAccountId: a, creditAccountId: b, amountFen: 1_000n },
      { id: id('t'), debitAccountId: a, creditAccountId: 'wallet:nobody', amountFen: 1n },
      { id: id('t'), debitAccountId: 'wallet:nobody', creditAccountId: a, amountFen: 1n },
    ]);
    assert.deepEqual(results, ['ok', 'exceeds_credits', 'ok', 'ok', 'credit_account_not_found', 'debit_account_not_found']);
    assert.equal((await balanceOf(a)).posted, 0n);
    assert.equal((await balanceOf(b)).posted, 1_000n);
  });

  test('refusals that need no database', async () => {
    const a = await fundedWallet(100n);
    const results = await ledger.createTransfers([
      { id: '', debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 1n },
      { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 0n },
      { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: -5n },
      { id: id('t'), debitAccountId: a, creditAccountId: a, amountFen: 1n },
      { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 1n, pendingId: 'x' },
      { id: id('t'), kind: 'post_pending' },
      { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 1n, timeoutSeconds: 60 },
      { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 10n ** 13n },
      { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 1n },
    ]);
    assert.deepEqual(results, [
      'id_must_not_be_empty', 'amount_must_not_be_zero', 'amount_must_not_be_negative', 'accounts_must_be_different',
      'pending_id_must_not_be_set', 'pending_id_must_be_set', 'timeout_reserved_for_pending_transfer', 'amount_too_large', 'ok',
    ]);
  });

  test('a transfer id applies once: a repeat answers exists, a changed repeat is refused', async () => {
    const a = await fundedWallet(1_000n);
    const t = { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 100n, userData: 'fee for txn 9' };
    assert.equal(await ledger.createTransfer(t), 'ok');
    assert.equal(await ledger.createTransfer(t), 'exists');
    assert.equal(await ledger.createTransfer({ ...t, amountFen: 101n }), 'exists_with_different_fields');
    assert.equal(await ledger.createTransfer({ ...t, userData: 'other' }), 'exists_with_different_fields');
    // Twice in one batch: the second sees the first.
    const u = { ...t, id: id('t') };
    assert.deepEqual(await ledger.createTransfers([u, u, { ...u, amountFen: 1n }]), ['ok', 'exists', 'exists_with_different_fields']);
    assert.equal((await balanceOf(a)).posted, 800n);
    // A refused transfer is not stored: once funds arrive, the same id can apply.
    const big = { id: id('t'), debitAccountId: a, creditAccountId: 'fee:revenue', amountFen: 5_000n };
    assert.equal(await ledger.createTransfer(big), 'exceeds_credits');
    await ledger.createTransfer({ id: id('topup'), debitAccountId: 'bank_settlement:CMB', creditAccountId: a, amountFen: 5_000n });
    assert.equal(await ledger.createTransfer(big), 'ok');
  });

  test('holds: pending reserves, post moves (all or part), void releases; each hold resolves once', async () => {
    const wallet = await fundedWallet(10_000n);
    const merchant = id('merchant');
    assert.deepEqual(await ledger.createAccounts([{ id: merchant, kind: 'merchant', debitsMustNotExceedCredits: true }]), ['ok']);
    const hold = { id: id('hold'), kind: 'pending' as const, debitAccountId: wallet, creditAccountId: merchant, amountFen: 6_000n };
    assert.equal(await ledger.createTransfer(hold), 'ok');
    assert.deepEqual([(await balanceOf(wallet)).posted, (await balanceOf(wallet)).available], [10_000n, 4_000n]);
    // The held money cannot be spent twice.
    assert.equal(await ledger.createTransfer({ ...hold, id: id('hold') }), 'exceeds_credits');

    const post = { id: id('post'), kind: 'post_pending' as const, pendingId: hold.id, amountFen: 5_000n };
    assert.deepEqual(await ledger.createTransfers([
      { ...post, amountFen: 6_001n },
      { ...post, debitAccountId: merchant },
      post,
      { id: id('void'), kind: 'void_pending', pendingId: hold.id },
      { id: id('post'), kind: 'post_pending', pendingId: hold.id },
      { id: id('post'), kind: 'post_pending', pendingId: 'no such hold' },
    ]), [
      'exceeds_pending_transfer_amount', 'pending_transfer_has_different_debit_account_id', 'ok',
      'pending_transfer_already_posted', 'pending_transfer_already_posted', 'pending_transfer_not_found',
    ]);
    assert.equal(await ledger.createTransfer({ id: id('post'), kind: 'post_pending', pendingId: post.id }), 'pending_transfer_not_pending');
    // Posting 5,000 of a 6,000 hold releases the other 1,000.
    assert.deepEqual([(await balanceOf(wallet)).posted, (await balanceOf(wallet)).available], [5_000n, 5_000n]);
    assert.equal((await balanceOf(merchant)).posted, 5_000n);
    const [stored] = await ledger.lookupTransfers([post.id]);
    assert.deepEqual([stored?.debitAccountId, stored?.creditAccountId, stored?.amountFen], [wallet, merchant, 5_000n]);

    // A hold created and voided in the same batch; a void must name the whole amount.
    const hold2 = { ...hold, id: id('hold'), amountFen: 2_000n };
    assert.deepEqual(await ledger.createTransfers([
      hold2,
      { id: id('void'), kind: 'void_pending', pendingId: hold2.id, amountFen: 1_000n },
      { id: id('void'), kind: 'void_pending', pendingId: hold2.id },
      { id: id('post'), kind: 'post_pending', pendingId: hold2.id },
    ]), ['ok', 'pending_transfer_has_different_amount', 'ok', 'pending_transfer_already_voided']);
    assert.deepEqual([(await balanceOf(wallet)).posted, (await balanceOf(wallet)).available], [5_000n, 5_000n]);
  });

  test('an expired hold cannot be posted; the sweep voids it once', async () => {
    const wallet = await fundedWallet(1_000n);
    const hold = { id: id('hold'), kind: 'pending' as const, debitAccountId: wallet, creditAccountId: 'fee:revenue', amountFen: 700n, timeoutSeconds: 1 };
    assert.equal(await ledger.createTransfer(hold), 'ok');
    // Age the hold instead of sleeping: tests never wait on the clock.
    await sql`update platform.ledger_transfers set expires_at = now() - interval '1 second' where id = ${hold.id}`.execute(db);
    assert.equal(await ledger.createTransfer({ id: id('post'), kind: 'post_pending', pendingId: hold.id }), 'pending_transfer_expired');
    assert.ok(await ledger.voidExpiredPendingTransfers() >= 1);
    assert.equal(await ledger.voidExpiredPendingTransfers(), 0);
    assert.equal((await balanceOf(wallet)).available, 1_000n);
    const [voided] = await ledger.lookupTransfers([`${hold.id}:expired`]);
    assert.equal(voided?.kind, 'void_pending');
  });

  test('invariants hold: balances sum to zero, no wallet negative, counters equal their transfers', async () => {
    const totals = await assertLedgerInvariants(db);
    assert.ok(totals.debitsPostedFen > 0n);
    // The database refuses a negative wallet even if the batch function were wrong.
    const wallet = await fundedWallet(10n);
    await assert.rejects(sql`update platform.ledger_accounts set debits_posted = debits_posted + 11 where id = ${wallet}`.execute(db),
      (error: { code?: string }) => error.code === '23514');
  });
});
