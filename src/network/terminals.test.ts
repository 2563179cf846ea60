import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withinWindow } from './switch.ts';
import { isNewerStan } from './terminals.ts';

describe('sign-on replay checks', () => {
  it('a STAN is newer when ahead by less than half the cycle, across the wrap; equal or behind is a replay', () => {
    assert.equal(isNewerStan('000001', null), true);
    assert.equal(isNewerStan('000101', '000100'), true);
    assert.equal(isNewerStan('000100', '000100'), false);
    assert.equal(isNewerStan('000099', '000100'), false);
    assert.equal(isNewerStan('000002', '999998'), true, 'after the wrap');
    assert.equal(isNewerStan('999998', '000002'), false, 'before the wrap');
  });

  it('field 7 is accepted within ±5 minutes of the clock, also across a new year, and never when impossible', () => {
    const now = new Date('2026-11-30T07:50:00Z');
    const window = 5 * 60_000;
    assert.equal(withinWindow('1130075000', now, window), true);
    assert.equal(withinWindow('1130075459', now, window), true);
    assert.equal(withinWindow('1130074400', now, window), false);
    assert.equal(withinWindow('1130075600', now, window), false);
    assert.equal(withinWindow('1231235800', new Date('2027-01-01T00:01:00Z'), window), true, 'last year\'s December');
    assert.equal(withinWindow('0231075000', now, window), false);
    assert.equal(withinWindow('1332075000', now, window), false);
    assert.equal(withinWindow('11300750', now, window), false);
  });
});
