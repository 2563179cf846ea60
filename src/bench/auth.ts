/**
 * `npm run bench -- auth [--rate N] [--duration S] [--warmup S] [--concurrency N] [--cards N] [--terminals N]`
 *
 * Card-present authorizations end to end through real TCP: emulated contactless card → POS
 * kernel (APDUs, ARQC) → ISO 8583 to the network → BIN routing, STAN/RRN log → ISO 8583 to the
 * issuing bank → ARQC, ATC and balance checks, debit, ARPC → back to the POS. Every request is a
 * 0200 purchase under the no-PIN limit on its own card (a card is never in two transactions at
 * once, as in life). The terminals and cards run in a worker thread, so the load generator does
 * not share an event loop with what it measures; the network and the bank share the main thread
 * and one database pool (20 connections), as `mipay up` runs them in one process. Runs on
 * PostgreSQL when DATABASE_URL is set (a fresh database `mipay_bench_auth` on that server,
 * dropped and recreated), else on an in-memory PGlite.
 *
 *  - fixed: open loop at `rate` requests/s for `duration` s; latency counts from each request's
 *    scheduled start, so a stall is not hidden by requests that were never sent.
 *  - max:   closed loop, `concurrency` requests always in flight, for `duration` s.
 *
 * The last output line is one JSON object:
 *   bench "auth", database "pglite" | "postgres", cards, terminals, durationS
 *   fixed { offeredPerSec, achievedPerSec, p50Ms, p99Ms, maxMs, completed, declined, declinedBy, errors }
 *   max   { concurrency, perSec, p50Ms, p99Ms, maxMs, completed, declined, declinedBy, errors }
 *   processCpuMsPerRequest: CPU of the bench process (terminals in a worker thread, network and bank) per request;
 *   PostgreSQL's own CPU is not in it, PGlite's is (it runs inside the process)
 *   (declinedBy: response code → count, e.g. 91 when the bank answered after the network's timeout;
 *   errors: requests that could not start because every card was in a transaction, or failed locally)
 *   target { p99MsAtFixed: 50 }, ratios { p99OverTarget }, targetMet (p99 under target, no declines or errors)
 */
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { createSystem } from '../cli/system.ts';
import type { CardPersonalization } from '../bank/client.ts';
import type { TerminalsInput } from './_auth-terminals.ts';
import { openBenchDatabase } from './_database.ts';
import { benchLogger, round } from './_load.ts';
import { loadOptions, parseLoad, registerBenchTerminals, runPhases } from './_phases.ts';
import { createMemoryKeyring } from '../infra/keys/keyring.ts';

const limits = { rateMax: 20_000, durationSMax: 300, warmupSMax: 60, concurrencyMax: 1_000, cardsMax: 20_000, terminalsMax: 64 };
const benchDatabase = 'mipay_bench_auth';
const targetP99Ms = 50;


export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...loadOptions, cards: { type: 'string', default: '2000' } },
  });
  const { rate, durationS, warmupS, concurrency, terminalCount } = parseLoad(values, limits);
  const cardCount = Number(values.cards);
  assert.ok(Number.isInteger(cardCount) && cardCount >= concurrency && cardCount <= limits.cardsMax, `--cards ${concurrency}..${limits.cardsMax}`);

  const database = await openBenchDatabase(benchDatabase);
  const logger = benchLogger();
  const system = await createSystem({ database, keyring: createMemoryKeyring(), logger });
  await system.bankAuthorization.endpoint.listen(0);
  const address = await system.network.server.listen(0);
  try {
    process.stderr.write(`auth bench on ${database.kind}: issuing ${cardCount} cards…\n`);
    const cards: CardPersonalization[] = [];
    const banks = ['CCB', 'CMB', 'BOCOM', 'SPDB'];
    for (let i = 0; i < cardCount; i++) {
      const issued = await system.bank.service.issueCard({
        bankCode: banks[i % banks.length]!, kind: 'debit', holderName: '压测', idNumber: '11010119900101001X', reservedPhone: '13800000000', balanceFen: 10n ** 11n,
      });
      cards.push(await system.bankAuthorization.personalizer.personalize(issued.cardNumber));
    }
    const terminals = await registerBenchTerminals(system.network, terminalCount, { terminalPrefix: 'BENCH', merchantPrefix: '89811000000' });
    const phases = await runPhases<TerminalsInput>(new URL('./_auth-terminals.ts', import.meta.url), {
      networkHost: address.host, networkPort: address.port, terminals, cards, rate, durationS, warmupS, concurrency,
    });
    const figures = {
      bench: 'auth', database: database.kind, cards: cardCount, terminals: terminalCount, durationS,
      fixed: phases.fixed, max: phases.max,
      processCpuMsPerRequest: phases.processCpuMsPerRequest,
      target: { p99MsAtFixed: targetP99Ms },
      ratios: { p99OverTarget: round(phases.fixed.p99Ms / targetP99Ms) },
      targetMet: phases.fixed.p99Ms < targetP99Ms && phases.fixedClean,
    };
    process.stdout.write([
      '',
      `authorizations POS → network → bank over TCP (${database.kind}, ${cardCount} cards, ${terminalCount} terminals)`,
      ...phases.rows,
      `process CPU per request (terminals, network, bank${database.kind === 'pglite' ? ' and PGlite' : ''}): ${figures.processCpuMsPerRequest} ms`,
      `target: p99 < ${targetP99Ms} ms at ${rate}/s → ${figures.targetMet ? 'met' : 'NOT met'} (p99 / target = ${figures.ratios.p99OverTarget})`,
      '',
    ].join('\n'));
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await system.network.close();
    await system.bankAuthorization.endpoint.close();
    await system.platform.app.close();
    await system.bank.app.close();
    await database.close();
  }
}
