import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Ledger } from '../platform/ledger/ledger.ts';
import { isTransferApplied } from '../platform/ledger/transfers.ts';

/** Helpers of the ledger benchmark (src/bench/ledger.ts): workloads, the naive baseline, pgbench. */

export interface PhaseFigures {
  /** Transfers (or pgbench transactions) completed per second over the measured window. */
  transfersPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Completed operations in the measured window. */
  completed: number;
  /** Of those, refused by the ledger (e.g. insufficient funds); they still cost a round trip. */
  refused: number;
}

/** One operation of a closed-loop client: resolves true when the transfer applied. */
export type Operation = () => Promise<boolean>;

/**
 * `clients` loops, each issuing one operation at a time and the next as soon as it returns
 * (what pgbench's clients do). A warm-up runs first and is not measured.
 */
export async function runClosedLoop(clients: number, warmupMs: number, durationMs: number, operation: Operation): Promise<PhaseFigures> {
  const latenciesMs: number[] = [];
  let refused = 0;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const stopAt = measureFrom + durationMs;
  const client = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= stopAt) return;
      const applied = await operation();
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= stopAt) {
        latenciesMs.push(t1 - t0);
        if (!applied) refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  latenciesMs.sort((a, b) => a - b);
  const at = (q: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))] ?? Number.NaN;
  return {
    transfersPerSec: latenciesMs.length / (durationMs / 1000),
    p50Ms: at(0.5), p99Ms: at(0.99), completed: latenciesMs.length, refused,
  };
}

export const benchAccountId = (i: number) => `wallet:bench_${i}`;
export const hotAccountId = 'merchant:bench_hot';

function randomPair(accounts: number): [number, number] {
  const a = Math.floor(Math.random() * accounts);
  let b = Math.floor(Math.random() * (accounts - 1));
  if (b >= a) b++;
  return [a, b];
}

const newTransferId = () => `bt_${randomBytes(9).toString('base64url')}`;
const smallAmountFen = () => BigInt(1 + Math.floor(Math.random() * 100));

/** W1: uniform random pairs of wallets. */
export function uniformPairs(ledger: Ledger, accounts: number): Operation {
  return async () => {
    const [a, b] = randomPair(accounts);
    const result = await ledger.createTransfer({
      id: newTransferId(), debitAccountId: benchAccountId(a), creditAccountId: benchAccountId(b), amountFen: smallAmountFen(),
    });
    return isTransferApplied(result);
  };
}

/** W3: every transfer pays the one hot merchant account. */
export function hotAccount(ledger: Ledger, accounts: number): Operation {
  return async () => {
    const result = await ledger.createTransfer({
      id: newTransferId(), debitAccountId: benchAccountId(Math.floor(Math.random() * accounts)), creditAccountId: hotAccountId,
      amountFen: smallAmountFen(),
    });
    return isTransferApplied(result);
  };
}

/**
 * The naive baseline on the same tables and data: one transaction per transfer with row locks
 * (in id order, as any careful hand-written version would), a balance check, two updates and
 * an insert. Six round trips and one commit per transfer.
 */
export function naiveUniformPairs(pool: pg.Pool, accounts: number): Operation {
  return async () => {
    const [a, b] = randomPair(accounts);
    const debit = benchAccountId(a);
    const credit = benchAccountId(b);
    const amount = smallAmountFen().toString();
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ id: string; debits_posted: string; debits_pending: string; credits_posted: string; guarded: boolean }>(
        `select id, debits_posted, debits_pending, credits_posted, debits_must_not_exceed_credits as guarded
           from platform.ledger_accounts where id = any($1::text[]) order by id for update`, [[debit, credit]]);
      const payer = rows.find((r) => r.id === debit);
      assert.ok(payer && rows.length === 2, 'bench accounts exist');
      if (payer.guarded && BigInt(payer.debits_posted) + BigInt(payer.debits_pending) + BigInt(amount) > BigInt(payer.credits_posted)) {
        await client.query('rollback');
        return false;
      }
      await client.query('update platform.ledger_accounts set debits_posted = debits_posted + $2 where id = $1', [debit, amount]);
      await client.query('update platform.ledger_accounts set credits_posted = credits_posted + $2 where id = $1', [credit, amount]);
      await client.query(
        `insert into platform.ledger_transfers (id, debit_account_id, credit_account_id, amount, kind) values ($1, $2, $3, $4, 'posted')`,
        [newTransferId(), debit, credit, amount]);
      await client.query('commit');
      return true;
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
}

const execFileAsync = promisify(execFile);

export function pgbenchPath(): string {
  const candidate = '/usr/lib/postgresql/15/bin/pgbench';
  return existsSync(candidate) ? candidate : 'pgbench';
}

export interface PgbenchFigures {
  tps: number;
  latencyAvgMs: number;
  scale: number;
  transactions: number;
}

/** `pgbench -b tpcb-like` against the same server and database, with the same clients and duration. */
export async function runPgbench(url: URL, clients: number, durationS: number, scale: number): Promise<PgbenchFigures> {
  const connection = ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username || 'postgres')];
  const database = url.pathname.slice(1);
  const env = { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) };
  await execFileAsync(pgbenchPath(), ['-i', '-q', '-s', String(scale), ...connection, database], { env, maxBuffer: 1 << 24 });
  const threads = Math.max(1, Math.min(clients, 2));
  const { stdout } = await execFileAsync(pgbenchPath(),
    ['-b', 'tpcb-like', '-c', String(clients), '-j', String(threads), '-T', String(durationS), ...connection, database],
    { env, maxBuffer: 1 << 24 });
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1];
  const latency = /latency average = ([\d.]+) ms/.exec(stdout)?.[1];
  const transactions = /number of transactions actually processed: (\d+)/.exec(stdout)?.[1];
  assert.ok(tps && latency && transactions, `unexpected pgbench output:\n${stdout}`);
  return { tps: Number(tps), latencyAvgMs: Number(latency), scale, transactions: Number(transactions) };
}
