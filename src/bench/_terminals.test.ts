// The benches' pool of cards or phones and their load loops: what the figures rely on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PosTerminal } from '../terminal/party.ts';
import { closedLoop } from './_load.ts';
import { fromPool } from './_terminals.ts';

const terminal = {} as PosTerminal;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the benches\' pool and loops', () => {
  test('an item is in one request at a time; a request finding the pool empty waits for the next item put back', async () => {
    const inUse = new Set<string>();
    let overlaps = 0;
    const once = fromPool(['a', 'b'], async (_terminal, item) => {
      if (inUse.has(item)) overlaps += 1;
      inUse.add(item);
      await tick();
      inUse.delete(item);
      return 'approved';
    });
    const outcomes = await Promise.all(Array.from({ length: 9 }, () => once(terminal)));
    assert.deepEqual(outcomes, Array(9).fill('approved'), 'no request failed for want of an item');
    assert.equal(overlaps, 0);
  });

  test('afterUse runs outside the request; the item comes back when it is done, or never if it fails; settled() waits for it', async () => {
    const pool = ['phone'];
    let syncs = 0;
    let release!: () => void;
    const once = fromPool(pool, async () => 'approved', () => new Promise<void>((resolve) => {
      syncs += 1;
      release = resolve;
    }));
    assert.equal(await once(terminal), 'approved', 'the request ends before its afterUse');
    assert.deepEqual(pool, [], 'the phone is syncing, out of the pool');
    let settled = false;
    const settling = once.settled().then(() => { settled = true; });
    const waiting = once(terminal);
    await tick();
    assert.equal(settled, false);
    release();
    assert.equal(await waiting, 'approved', 'the waiting request got the phone once it was back');
    release();
    await settling;
    assert.equal(syncs, 2);

    const failing = fromPool(['lost'], async () => 'approved', async () => { throw new Error('platform unreachable'); });
    const warned = new Promise((resolve) => process.once('warning', resolve));
    await failing(terminal);
    await failing.settled();
    assert.match(String((await warned as Error).message), /left the pool: platform unreachable/);
  });

  test('a closed loop whose requests fail at once still lets timers and I/O run (it does not spin on microtasks)', async () => {
    let timerRan = false;
    setTimeout(() => { timerRan = true; }, 5);
    const figures = await closedLoop(async () => 'error', 4, 0.05);
    assert.ok(timerRan, 'a 5 ms timer ran during a 50 ms loop of instant failures');
    assert.ok(figures.errors > 0);
  });
});
