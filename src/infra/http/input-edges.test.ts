import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findInputEdge, impossibleDate, inputDepthMax } from './input-edges.ts';

test('impossible dates and times are named; real ones, and strings that are no date, pass', () => {
  for (const real of ['2024-02-29', '2000-02-29', '2026-12-31', '2026-11-30T04:00:00Z', '2026-11-30T23:59:59.123+08:00', '2026-11-30 10:00']) {
    assert.equal(impossibleDate(real), undefined, real);
  }
  for (const notADate of ['13800138000', 'hello', '2026-02', '20260230', '2026-02-30x']) assert.equal(impossibleDate(notADate), undefined, notADate);
  for (const impossible of ['2026-02-30', '2025-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '2026-01-01T24:00:00Z', '2026-01-01T10:60Z', '2026-01-01T10:00:00+25:00']) {
    assert.ok(impossibleDate(impossible), impossible);
  }
});

test('the first NUL byte or impossible date is reported with its dotted path; keys with NUL too; depth is bounded', () => {
  assert.equal(findInputEdge({ a: 'fine', b: { c: ['x', 'y\u0000'] } })?.param, 'b.c.1');
  assert.equal(findInputEdge({ a: 'x\u0000', b: 'y\u0000' })?.param, 'a', 'the first field first');
  assert.equal(findInputEdge({ when: { from: '2026-02-30' } })?.param, 'when.from');
  assert.equal(findInputEdge({ 'k\u0000': 1 })?.code, 'parameter_invalid');
  assert.equal(findInputEdge({ a: 1, b: [true, null, 2.5], c: '2024-02-29' }), undefined);
  let deep: unknown = 'x';
  for (let i = 0; i < inputDepthMax + 5; i++) deep = [deep];
  assert.equal(findInputEdge(deep)?.status, 400, 'deep nesting is a 400, not a stack overflow');
});
