/**
 * `npm run bench -- risk [--payments N] [--users N] [--decisions N]`
 *
 * What the risk engine costs.
 *  - decisions: `RiskEngine.assess` + `settle` on warm in-memory histories of `users` users (the
 *    default rule set, each history filled with a day of ordinary operations), as fast as one
 *    thread makes them: decisions per second, and the p50/p99 of one decision.
 *  - payment: `payments` balance transfers through the whole platform (HTTP in process, the
 *    ledger, PGlite or PostgreSQL as the test system picks: MIPAY_TEST_DB), timing the decision
 *    each makes inside the payment: the p99 it adds (target ≤ 2 ms), next to the payment's own p99.
 *
 * The last output line is one JSON object:
 *   bench "risk", database, decisions { count, perSec, p50Us, p99Us }, payment { count, decisionP50Ms,
 *   decisionP99Ms, paymentP50Ms, paymentP99Ms, refused }, target { decisionP99MsInPayment: 2 }, targetMet
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { apiClient, openPaymentAccount, startTestSystem } from '../cli/test-system.ts';
import type { RequestRiskContext } from '../platform/risk/context.ts';
import { percentile, round } from './_load.ts';

const limits = { paymentsMax: 5_000, usersMax: 100_000, decisionsMax: 2_000_000 };
const targetP99Ms = 2;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { payments: { type: 'string' }, users: { type: 'string' }, decisions: { type: 'string' } } });
  const payments = Number(values.payments ?? 500);
  const users = Number(values.users ?? 1_000);
  const decisionCount = Number(values.decisions ?? 200_000);
  assert.ok(Number.isInteger(payments) && payments >= 10 && payments <= limits.paymentsMax, `--payments 10–${limits.paymentsMax}`);
  assert.ok(Number.isInteger(users) && users >= 1 && users <= limits.usersMax, `--users 1–${limits.usersMax}`);
  assert.ok(Number.isInteger(decisionCount) && decisionCount >= 1_000 && decisionCount <= limits.decisionsMax, `--decisions 1000–${limits.decisionsMax}`);

  const system = await startTestSystem();
  try {
    const engine = system.platform.risk;
    const api = apiClient(system.platform.app);

    // --- decisions on warm histories (the users need rows: the operation log references them) ---
    const userIds = (await system.database.forSchema<any>('platform').selectFrom('users').select('id').execute()).map((u: { id: string }) => u.id);
    const a = await openPaymentAccount(system, { name: '测一', birthDate: '1990-01-01' });
    const b = await openPaymentAccount(system, { name: '测二', birthDate: '1990-02-02' });
    // Not the payer: its warm-up payments would be a burst the velocity rule rightly steps up in the payment phase.
    const ids = [...userIds, b.userId];
    const context = (i: number): RequestRiskContext => ({
      deviceId: `bench-device-${i % users}`, deviceModel: 'Mi 9', osVersion: 'MIUI 10', networkType: 'wifi', ip: '120.24.78.68',
      country: '中国', region: '广东省', city: '深圳市',
    });
    process.stdout.write(`risk bench: warming ${users} histories\n`);
    const warmUser = (i: number) => ids[i % ids.length]!;
    // The users share a few database rows but each decision reads only its own in-memory history, keyed by user id.
    const keys = Array.from({ length: users }, (_, i) => `${warmUser(i)}`);
    for (let i = 0; i < users * 20; i++) {
      const userId = keys[i % users]!;
      const decision = await engine.assess(userId, 'payment', { amountFen: 1_000n, payee: 'merchant:BENCH', cardId: null }, context(i));
      engine.settle({ userId, operation: 'payment', outcome: 'succeeded', context: context(i), decision });
      system.clock.advance(50);
    }
    await engine.flush();
    process.stdout.write(`risk bench: ${decisionCount} decisions\n`);
    const decisionUs: number[] = [];
    const started = performance.now();
    for (let i = 0; i < decisionCount; i++) {
      const userId = keys[i % users]!;
      const t0 = performance.now();
      const decision = await engine.assess(userId, 'payment', { amountFen: 2_000n, payee: 'merchant:BENCH', cardId: null }, context(i));
      decisionUs.push((performance.now() - t0) * 1_000);
      // Settled as refused: keeps the histories' size steady without writing 200,000 rows during the loop.
      if (i % 100 === 0) engine.settle({ userId, operation: 'payment', outcome: 'refused', context: context(i), decision });
    }
    const decisionsPerSec = decisionCount / ((performance.now() - started) / 1_000);
    await engine.flush();

    // --- the decision inside real balance payments ---
    process.stdout.write(`risk bench: ${payments} balance transfers\n`);
    const topUp = await api('POST', '/v1/top-ups', {
      token: a.token, headers: { 'idempotency-key': randomUUID() }, body: { card_id: a.cardId, amount_fen: 10_000, payment_password: '135790' },
    });
    assert.equal(topUp.status, 201, JSON.stringify(topUp.body));
    const inPaymentMs: number[] = [];
    const assess = engine.assess.bind(engine);
    engine.assess = async (...input) => {
      const t0 = performance.now();
      try {
        return await assess(...input);
      } finally {
        inPaymentMs.push(performance.now() - t0);
      }
    };
    const paymentMs: number[] = [];
    let refused = 0;
    for (let i = 0; i < payments; i++) {
      // Ordinary pace: one payment every 7 s of the platform's clock (the velocity rules allow 10 a minute without a step-up).
      system.clock.advance(7_000);
      const confirmation = (await api('POST', '/v1/payee-lookups', { token: a.token, body: { phone: b.phone } })).body.confirmation;
      const t0 = performance.now();
      const paid = await api('POST', '/v1/transfers', {
        token: a.token, headers: { 'idempotency-key': randomUUID(), 'mipay-device-id': 'bench-phone', 'mipay-network-type': 'wifi' },
        body: { payee_confirmation: confirmation, amount_fen: 1, payment_password: '135790' },
      });
      paymentMs.push(performance.now() - t0);
      if (paid.status !== 201) refused += 1;
      // Payee look-ups are limited to 30 an hour per account: the clock moves an hour every 25 payments.
      if (i % 25 === 24) system.clock.advance(3_600_000);
    }
    engine.assess = assess;
    const decisionP99Ms = round(percentile(inPaymentMs, 0.99), 3);
    const result = {
      bench: 'risk', database: process.env.MIPAY_TEST_DB ?? 'pglite',
      decisions: { count: decisionCount, users, perSec: Math.round(decisionsPerSec), p50Us: round(percentile(decisionUs, 0.5), 1), p99Us: round(percentile(decisionUs, 0.99), 1) },
      payment: {
        count: payments, decisionP50Ms: round(percentile(inPaymentMs, 0.5), 3), decisionP99Ms, paymentP50Ms: round(percentile(paymentMs, 0.5), 1),
        paymentP99Ms: round(percentile(paymentMs, 0.99), 1), refused,
      },
      target: { decisionP99MsInPayment: targetP99Ms }, targetMet: decisionP99Ms <= targetP99Ms && refused === 0,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await system.close();
  }
}
