import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatementBatcher } from './statement-batcher.ts';

describe('StatementBatcher', () => {
  it('sends what is queued in one turn together, the rest in the next statement, and answers each caller', async () => {
    const statements: number[][] = [];
    const batcher = new StatementBatcher<number, number>(async (items) => {
      statements.push(items);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return items.map((item) => item * 10);
    }, { batchSizeMax: 3 });
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.add(n)));
    assert.deepEqual(answers, [10, 20, 30, 40, 50]);
    assert.deepEqual(statements, [[1, 2, 3], [4, 5]]);
  });

  it('keeps two items with the same exclusive key out of one statement', async () => {
    const statements: string[][] = [];
    const batcher = new StatementBatcher<string, string>(async (items) => {
      statements.push(items);
      return items;
    }, { exclusiveKey: (item) => item.slice(0, 1) });
    await Promise.all(['a1', 'b1', 'a2', 'c1', 'a3'].map((item) => batcher.add(item)));
    assert.deepEqual(statements, [['a1', 'b1', 'c1'], ['a2'], ['a3']]);
  });

  it('fails every caller of a failed statement, and keeps working afterwards', async () => {
    let fail = true;
    const batcher = new StatementBatcher<number, number>(async (items) => {
      if (fail) throw new Error('deadlock detected');
      return items;
    });
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    fail = false;
    assert.equal(await batcher.add(3), 3);
  });

  it('never holds back an item whose exclusive key is undefined', async () => {
    const statements: string[][] = [];
    const batcher = new StatementBatcher<string, string>(async (items) => {
      statements.push(items);
      return items;
    }, { exclusiveKey: (item) => (item.startsWith('w') ? item.slice(0, 2) : undefined) });
    await Promise.all(['r1', 'wa1', 'r1', 'wa2', 'r2'].map((item) => batcher.add(item)));
    assert.deepEqual(statements, [['r1', 'wa1', 'r1', 'r2'], ['wa2']]);
  });

  it('with isolateFailures, runs each item of a failed statement alone: only the bad one fails', async () => {
    const statements: number[][] = [];
    const batcher = new StatementBatcher<number, number>(async (items) => {
      statements.push(items);
      if (items.includes(13)) throw new Error('check constraint violated');
      return items.map((item) => item * 2);
    }, { isolateFailures: true });
    const results = await Promise.allSettled([1, 13, 3].map((n) => batcher.add(n)));
    assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected')), [2, 'rejected', 6]);
    assert.deepEqual(statements, [[1, 13, 3], [1], [13], [3]]);
    assert.equal(await batcher.add(4), 8);
  });
});
