/**
 * `npm run bench -- ledger [--clients N] [--duration S] [--warmup S] [--accounts N] [--in-flight N] [--skip-baselines]`
 *
 * The ledger's throughput against two yardsticks on the same PostgreSQL server (DATABASE_URL,
 * default postgres://postgres@127.0.0.1:5432/), with durable commits (fsync and
 * synchronous_commit on — checked, never changed): a naive one-transaction-per-transfer ledger
 * on the same tables and data, and `pgbench -b tpcb-like`. Every phase uses the same number of
 * closed-loop clients and the same duration. The database `mipay_bench` is dropped and
 * recreated on each run.
 *
 *  - W1: transfers between uniformly random pairs of `accounts` wallets.
 *  - W3: every transfer credits one hot merchant account.
 *  - naive: W1's pairs, one transaction each (SELECT … FOR UPDATE, check, 2 UPDATEs, INSERT, COMMIT).
 *  - pgbench: tpcb-like, scale = clients (pgbench's advice, so its branches are not the bottleneck).
 *
 * The last output line is one JSON object:
 *   server            PostgreSQL version string
 *   clients, durationS, warmupS, accounts   the run's parameters
 *   w1, w3, naive     { transfersPerSec, p50Ms, p99Ms, completed, refused } over the measured window
 *   pgbench           { tps, latencyAvgMs, scale, transactions } as pgbench reports them
 *   ratios            { w1OverPgbench, w1OverNaive, w3OverW1 }
 *   targets           { w1OverPgbench: 3, w1OverNaive: 5, w3OverW1: 0.5 } and targetsMet: booleans per ratio
 *   invariants        { debitsPostedFen, creditsPostedFen, negativeGuardedAccounts } as strings, checked after the ledger phases
 */
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { migrateSchema, openDatabase } from '../infra/db/database.ts';
import { bankSettlementAccount } from '../platform/ledger/accounts.ts';
import { assertLedgerInvariants } from '../platform/ledger/invariants.ts';
import { Ledger, ledgerDefaults } from '../platform/ledger/ledger.ts';
import { platformMigrations, platformSchema } from '../platform/party.ts';
import type { PlatformTables } from '../platform/party.ts';
import {
  benchAccountId, hotAccount, hotAccountId, naiveUniformPairs, runClosedLoop, runPgbench, uniformPairs, type PhaseFigures,
} from './_ledger-workloads.ts';

const benchDatabase = 'mipay_bench';
const limits = { clientsMax: 90, durationSMax: 600, accountsMax: 1_000_000 };
const fundingFen = 1_000_000_000n;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      clients: { type: 'string', default: '64' },
      duration: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '2' },
      accounts: { type: 'string', default: '10000' },
      'in-flight': { type: 'string', default: String(ledgerDefaults.inFlightMax) },
      'skip-baselines': { type: 'boolean', default: false },
    },
  });
  const clients = Number(values.clients);
  const durationS = Number(values.duration);
  const warmupS = Number(values.warmup);
  const accounts = Number(values.accounts);
  const inFlightMax = Number(values['in-flight']);
  assert.ok(Number.isInteger(clients) && clients >= 1 && clients <= limits.clientsMax, `--clients 1..${limits.clientsMax}`);
  assert.ok(durationS > 0 && durationS <= limits.durationSMax, `--duration 1..${limits.durationSMax}`);
  assert.ok(warmupS >= 0 && warmupS <= 60, '--warmup 0..60');
  assert.ok(Number.isInteger(accounts) && accounts >= 2 && accounts <= limits.accountsMax, `--accounts 2..${limits.accountsMax}`);

  const serverUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const benchUrl = new URL(serverUrl);
  benchUrl.pathname = `/${benchDatabase}`;
  const server = await recreateBenchDatabase(serverUrl);
  log(`server: ${server}; ${clients} clients, ${durationS} s per phase (+${warmupS} s warm-up), ${accounts} accounts`);

  // The ledger's pool: a connection per batch in flight, plus one for setup and checks.
  const database = await openDatabase({ kind: 'postgres', url: benchUrl.toString(), poolSizeMax: inFlightMax + 2 });
  const db = database.forSchema<PlatformTables>(platformSchema);
  let w1: PhaseFigures, w3: PhaseFigures;
  let invariants: Awaited<ReturnType<typeof assertLedgerInvariants>>;
  try {
    await migrateSchema(database, platformSchema, platformMigrations);
    const ledger = new Ledger(db, { inFlightMax });
    await seedAccounts(db, ledger, accounts);
    log('W1: uniform pairs …');
    let before = { ...ledger.stats };
    w1 = await runClosedLoop(clients, warmupS * 1000, durationS * 1000, uniformPairs(ledger, accounts));
    log(`${formatPhase('W1', w1)}; ${batchLine(before, ledger.stats)}`);
    await sql`checkpoint`.execute(database.root);
    log('W3: one hot account …');
    before = { ...ledger.stats };
    w3 = await runClosedLoop(clients, warmupS * 1000, durationS * 1000, hotAccount(ledger, accounts));
    log(`${formatPhase('W3', w3)}; ${batchLine(before, ledger.stats)}`);
    await ledger.close();
    invariants = await assertLedgerInvariants(db);
    await sql`checkpoint`.execute(database.root);
  } finally {
    await database.close();
  }

  if (values['skip-baselines']) {
    process.stdout.write(`${JSON.stringify({ clients, inFlightMax, w1: roundPhase(w1), w3: roundPhase(w3) })}\n`);
    return;
  }
  log('naive: one transaction per transfer …');
  const pool = new pg.Pool({ connectionString: benchUrl.toString(), max: clients });
  let naive: PhaseFigures;
  try {
    naive = await runClosedLoop(clients, warmupS * 1000, durationS * 1000, naiveUniformPairs(pool, accounts));
    await pool.query('checkpoint');
  } finally {
    await pool.end();
  }
  log(formatPhase('naive', naive));

  log(`pgbench -b tpcb-like (initialising scale ${clients}) …`);
  const pgbench = await runPgbench(benchUrl, clients, durationS, clients);
  log(`pgbench: ${pgbench.tps.toFixed(0)} tps, latency avg ${pgbench.latencyAvgMs.toFixed(2)} ms`);

  const round = (x: number) => Math.round(x * 100) / 100;
  const ratios = {
    w1OverPgbench: round(w1.transfersPerSec / pgbench.tps),
    w1OverNaive: round(w1.transfersPerSec / naive.transfersPerSec),
    w3OverW1: round(w3.transfersPerSec / w1.transfersPerSec),
  };
  const targets = { w1OverPgbench: 3, w1OverNaive: 5, w3OverW1: 0.5 };
  const targetsMet = {
    w1OverPgbench: ratios.w1OverPgbench >= targets.w1OverPgbench,
    w1OverNaive: ratios.w1OverNaive >= targets.w1OverNaive,
    w3OverW1: ratios.w3OverW1 >= targets.w3OverW1,
  };
  log('');
  log('                      transfers/s      p50 ms      p99 ms');
  for (const [name, f] of [['ledger W1 (uniform)', w1], ['ledger W3 (hot)', w3], ['naive (row locks)', naive]] as const) {
    log(`${name.padEnd(20)} ${f.transfersPerSec.toFixed(0).padStart(12)} ${f.p50Ms.toFixed(2).padStart(11)} ${f.p99Ms.toFixed(2).padStart(11)}`);
  }
  log(`${'pgbench tpcb-like'.padEnd(20)} ${pgbench.tps.toFixed(0).padStart(12)}   (avg ${pgbench.latencyAvgMs.toFixed(2)} ms)`);
  log(`W1/pgbench ${ratios.w1OverPgbench}× (target ≥3), W1/naive ${ratios.w1OverNaive}× (target ≥5), W3/W1 ${ratios.w3OverW1}× (target ≥0.5)`);

  const figures = {
    server, clients, durationS, warmupS, accounts,
    w1: roundPhase(w1), w3: roundPhase(w3), naive: roundPhase(naive), pgbench,
    ratios, targets, targetsMet,
    invariants: {
      debitsPostedFen: invariants.debitsPostedFen.toString(), creditsPostedFen: invariants.creditsPostedFen.toString(),
      negativeGuardedAccounts: invariants.negativeGuardedAccounts.toString(),
    },
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

/** Drops and recreates the bench database; refuses to run unless commits are durable. */
async function recreateBenchDatabase(serverUrl: URL): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl.toString() });
  await admin.connect();
  try {
    const settings = await admin.query<{ name: string; setting: string }>(
      `select name, setting from pg_settings where name in ('fsync', 'synchronous_commit')`);
    for (const { name, setting } of settings.rows) assert.equal(setting, 'on', `the bench needs durable commits: ${name} is ${setting}`);
    await admin.query(`drop database if exists ${benchDatabase} with (force)`);
    await admin.query(`create database ${benchDatabase}`);
    const { rows } = await admin.query<{ version: string }>('select version()');
    return rows[0]!.version;
  } finally {
    await admin.end();
  }
}

/** Wallets funded from a bank's settlement account (through the ledger itself), and the hot merchant. */
async function seedAccounts(db: import('kysely').Kysely<PlatformTables>, ledger: Ledger, accounts: number): Promise<void> {
  log(`seeding ${accounts} wallets …`);
  const settlement = bankSettlementAccount('CMB');
  assert.deepEqual(await ledger.createAccounts([settlement, { id: hotAccountId, kind: 'merchant', debitsMustNotExceedCredits: true }]), ['ok', 'ok']);
  // Plain SQL for the bulk insert: opening 10,000 accounts one call at a time is not what is measured.
  await sql`insert into platform.ledger_accounts (id, kind, debits_must_not_exceed_credits)
            select 'wallet:bench_' || g, 'user_wallet', true from generate_series(0, ${accounts - 1}::integer) g`.execute(db);
  const chunk = 5_000;
  for (let from = 0; from < accounts; from += chunk) {
    const batch = Array.from({ length: Math.min(chunk, accounts - from) }, (_, k) => ({
      id: `seed_${from + k}`, debitAccountId: settlement.id, creditAccountId: benchAccountId(from + k), amountFen: fundingFen,
    }));
    const results = await ledger.createTransfers(batch);
    assert.ok(results.every((r) => r === 'ok'), 'seed transfers apply');
  }
  await sql`vacuum analyze platform.ledger_accounts`.execute(db);
  await sql`vacuum analyze platform.ledger_transfers`.execute(db);
}

function roundPhase(f: PhaseFigures): PhaseFigures {
  return { ...f, transfersPerSec: Math.round(f.transfersPerSec), p50Ms: Math.round(f.p50Ms * 1000) / 1000, p99Ms: Math.round(f.p99Ms * 1000) / 1000 };
}

function formatPhase(name: string, f: PhaseFigures): string {
  return `${name}: ${f.transfersPerSec.toFixed(0)} transfers/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms (${f.refused} refused)`;
}

function batchLine(before: Ledger['stats'], after: Ledger['stats']): string {
  const batches = after.batches - before.batches;
  const size = batches > 0 ? (after.transfers - before.transfers) / batches : 0;
  return `${batches} batches, ${size.toFixed(1)} transfers per batch, ${after.retries - before.retries} retried`;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}
