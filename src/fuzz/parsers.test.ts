// 10^5 generated inputs for every parser of untrusted bytes (targets.ts): only each parser's
// typed errors may escape. Long runs: `npm run fuzz -- --runs N`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzz } from './harness.ts';
import { fuzzTargets } from './targets.ts';

const runs = 100_000;

describe(`fuzz: ${runs} cases per parser, only typed errors escape`, () => {
  for (const target of fuzzTargets) {
    it(`${target.name}: ${target.description}`, () => {
      const result = fuzz(target, target.testRuns ?? runs);
      assert.equal(result.untyped, 0, `seed ${result.seed}: ${result.failure?.error}\ninput: ${result.failure?.input}`);
      assert.equal(result.runs, target.testRuns ?? runs);
    });
  }
});
