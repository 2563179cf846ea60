import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { migrateSchema, type Database } from '../../infra/db/database.ts';
import { openTestDatabase } from '../../infra/db/test-database.ts';
import { platformMigrations, platformSchema } from '../migrations/index.ts';
import type { PlatformTables } from '../tables.ts';
import { availableFen, bankSettlementAccount, merchantAccount, platformAccounts, walletAccount } from './accounts.ts';
import { assertLedgerInvariants } from './invariants.ts';
import { Ledger, isRetryableLedgerError } from './ledger.ts';
import { isTransferApplied, type TransferRequest, type TransferResult } from './transfers.ts';

/**
 * Races between writers. On PostgreSQL (MIPAY_TEST_DB=postgres) each writer below runs its
 * batches on its own pooled connections, several at once, so these are real concurrent
 * transactions contending for the same rows; on PGlite (one connection) they interleave.
 * Small batches (batchSizeMax 4) make many transactions per race.
 */
describe('ledger under concurrency', () => {
  let database: Database;
  let db: Kysely<PlatformTables>;
  let writers: Ledger[];
  let serial = 0;
  const id = (prefix: string) => `${prefix}_${++serial}`;

  before(async () => {
    database = await openTestDatabase();
    await migrateSchema(database, platformSchema, platformMigrations);
    db = database.forSchema<PlatformTables>(platformSchema);
    // Like several platform instances behind a load balancer: independent writers, one database.
    writers = Array.from({ length: 4 }, () => new Ledger(db, { batchSizeMax: 4, inFlightMax: 3, batchWindowMs: 0 }));
    assert.deepEqual(new Set(await writers[0]!.createAccounts(platformAccounts(['CMB', 'BOCOM']))), new Set(['ok']));
  });
  after(async () => {
    await Promise.all(writers.map((w) => w.close()));
    await database.close();
  });

  /** Submits each transfer alone through the writers in turn, all at once. */
  const race = (transfers: TransferRequest[]): Promise<TransferResult[]> =>
    Promise.all(transfers.map((t, i) => writers[i % writers.length]!.createTransfer(t)));

  async function fundedWallet(balanceFen: bigint): Promise<string> {
    const wallet = walletAccount(id('pa'));
    await writers[0]!.createAccounts([wallet]);
    assert.equal(await writers[0]!.createTransfer({
      id: id('topup'), debitAccountId: bankSettlementAccount('CMB').id, creditAccountId: wallet.id, amountFen: balanceFen,
    }), 'ok');
    return wallet.id;
  }

  test('100 concurrent withdrawals of the whole balance: exactly one succeeds', async () => {
    const wallet = await fundedWallet(88_800n);
    const results = await race(Array.from({ length: 100 }, () => ({
      id: id('withdraw'), debitAccountId: wallet, creditAccountId: bankSettlementAccount('CMB').id, amountFen: 88_800n,
    })));
    assert.equal(results.filter((r) => r === 'ok').length, 1);
    assert.equal(results.filter((r) => r === 'exceeds_credits').length, 99);
    const [account] = await writers[1]!.lookupAccounts([wallet]);
    assert.equal(account && availableFen(account), 0n);
    await assertLedgerInvariants(db);
  });

  test('20 concurrent submissions of one transfer id apply it once', async () => {
    const wallet = await fundedWallet(10_000n);
    const transfer = { id: id('pay'), debitAccountId: wallet, creditAccountId: 'fee:revenue', amountFen: 1_234n, userData: 'txn_once' };
    const results = await race(Array.from({ length: 20 }, () => transfer));
    assert.equal(results.filter((r) => r === 'ok').length, 1);
    assert.equal(results.filter((r) => r === 'exists').length, 19);
    const [account] = await writers[0]!.lookupAccounts([wallet]);
    assert.equal(account && availableFen(account), 10_000n - 1_234n);
  });

  test('one id raced with different accounts: applied once, the others told it exists with other fields', async () => {
    // Different credit accounts mean the racing batches lock different rows; the primary key
    // catches the loser, whose batch is retried and then sees the winner.
    const wallet = await fundedWallet(10_000n);
    const transferId = id('pay');
    const credits = ['fee:revenue', 'float:reserve', 'bank_settlement:CMB', 'bank_settlement:BOCOM'];
    const results = await race(Array.from({ length: 20 }, (_, i) => ({
      id: transferId, debitAccountId: wallet, creditAccountId: credits[i % credits.length]!, amountFen: 100n,
    })));
    assert.equal(results.filter((r) => r === 'ok').length, 1);
    assert.ok(results.every((r) => r === 'ok' || r === 'exists' || r === 'exists_with_different_fields'), results.join());
    const [account] = await writers[0]!.lookupAccounts([wallet]);
    assert.equal(account && availableFen(account), 9_900n);
  });

  test('a random mixed workload of thousands of transfers keeps every invariant', async () => {
    const wallets = await Promise.all(Array.from({ length: 40 }, () => fundedWallet(20_000n)));
    const merchants = Array.from({ length: 5 }, () => merchantAccount(id('m')));
    await writers[0]!.createAccounts(merchants);
    const banks = ['bank_settlement:CMB', 'bank_settlement:BOCOM'];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
    const amount = () => BigInt(1 + Math.floor(Math.random() * 8_000));
    const holds: string[] = [];
    const transfers: TransferRequest[] = [];
    for (let i = 0; i < 3_000; i++) {
      const roll = Math.random();
      const payer = pick(wallets);
      if (roll < 0.3) transfers.push({ id: id('p2p'), debitAccountId: payer, creditAccountId: pick(wallets.filter((w) => w !== payer)), amountFen: amount() });
      else if (roll < 0.45) transfers.push({ id: id('pay'), debitAccountId: payer, creditAccountId: pick(merchants).id, amountFen: amount() });
      else if (roll < 0.55) transfers.push({ id: id('topup'), debitAccountId: pick(banks), creditAccountId: payer, amountFen: amount() });
      else if (roll < 0.65) transfers.push({ id: id('withdraw'), debitAccountId: payer, creditAccountId: pick(banks), amountFen: amount() });
      else if (roll < 0.8) {
        const hold = { id: id('hold'), kind: 'pending' as const, debitAccountId: payer, creditAccountId: pick(merchants).id, amountFen: amount() };
        holds.push(hold.id);
        transfers.push(hold);
      } else if (roll < 0.9 && holds.length > 0) {
        transfers.push({ id: id('post'), kind: 'post_pending', pendingId: pick(holds) });
      } else if (holds.length > 0) {
        transfers.push({ id: id('void'), kind: 'void_pending', pendingId: pick(holds) });
      }
      // Retries of earlier transfers, as a client that lost a response would send.
      if (Math.random() < 0.05 && transfers.length > 1) transfers.push(pick(transfers));
    }
    const results = await race(transfers);
    const applied = new Set(transfers.filter((_, i) => results[i] === 'ok').map((t) => t.id));
    assert.equal(applied.size, results.filter((r) => r === 'ok').length, 'each transfer id applied at most once');
    assert.ok(applied.size > transfers.length / 3, `most transfers apply (${applied.size} of ${transfers.length})`);
    assert.ok(results.includes('exceeds_credits'), 'the workload reaches empty wallets');
    for (const [i, r] of results.entries()) {
      if (isTransferApplied(r)) continue;
      assert.ok(!r.startsWith('exists_with'), `a retry repeats its fields exactly (${transfers[i]!.id})`);
    }
    const stored = await db.selectFrom('ledger_transfers').select((eb) => eb.fn.countAll<bigint>().as('n'))
      .where('id', 'in', [...applied]).executeTakeFirstOrThrow();
    assert.equal(BigInt(stored.n), BigInt(applied.size));
    const totals = await assertLedgerInvariants(db);
    assert.equal(totals.negativeGuardedAccounts, 0n);
  });

  test('serialization failures, deadlocks and racing duplicate ids are retried, other errors are not', () => {
    assert.ok(isRetryableLedgerError({ code: '40001' }));
    assert.ok(isRetryableLedgerError({ code: '40P01' }));
    assert.ok(isRetryableLedgerError({ code: '23505', constraint: 'ledger_transfers_pkey' }));
    assert.ok(!isRetryableLedgerError({ code: '23505', constraint: 'users_phone_key' }));
    assert.ok(!isRetryableLedgerError({ code: '23514' }));
    assert.ok(!isRetryableLedgerError(new Error('boom')));
  });
});
