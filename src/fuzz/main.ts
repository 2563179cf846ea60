// `npm run fuzz -- [--runs N] [--target NAME]… [--seed S]`: long fuzz runs of every parser of
// untrusted bytes (targets.ts) and of the HTTP bodies (http-target.ts). One JSON line per
// target; exit code 1 when any target let an untyped error out.
import { parseArgs } from 'node:util';
import { fuzz, type FuzzResult } from './harness.ts';
import { fuzzTargets } from './targets.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 1e9) throw new Error('--runs must be an integer 1..10^9');
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !Number.isInteger(seed)) throw new Error('--seed must be an integer');
const names = new Set(values.target ?? []);
const known = [...fuzzTargets.map((t) => t.name), 'http-bodies'];
for (const name of names) if (!known.includes(name)) throw new Error(`--target ${name}: one of ${known.join(', ')}`);
const wanted = (name: string) => names.size === 0 || names.has(name);

let untyped = 0;
const report = (result: FuzzResult) => {
  untyped += result.untyped;
  process.stdout.write(`${JSON.stringify(result)}\n`);
};
for (const target of fuzzTargets) {
  if (!wanted(target.name)) continue;
  // Long runs go in slices of 10^6 so a result line (and its seed) appears every few seconds.
  let left = runs;
  const total: FuzzResult = {
    target: target.name, runs: 0, accepted: 0, refused: 0, untyped: 0, seed: seed ?? 0, durationMs: 0,
  };
  while (left > 0 && total.untyped === 0) {
    const slice = fuzz(target, Math.min(left, 1_000_000), seed === undefined ? undefined : seed + total.runs);
    left -= Math.min(left, 1_000_000);
    total.runs += slice.runs;
    total.accepted += slice.accepted;
    total.refused += slice.refused;
    total.untyped += slice.untyped;
    total.durationMs += slice.durationMs;
    total.seed = slice.seed;
    if (slice.failure) total.failure = slice.failure;
    if (left > 0) process.stderr.write(`${target.name}: ${total.runs} cases…\n`);
  }
  report(total);
}
if (wanted('http-bodies')) {
  const { fuzzHttpBodies } = await import('./http-target.ts');
  report(await fuzzHttpBodies(runs, seed));
}
process.exitCode = untyped > 0 ? 1 : 0;
