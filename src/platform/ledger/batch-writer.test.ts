import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchWriter } from './batch-writer.ts';

describe('batch writer', () => {
  test('gathers concurrent requests into batches no larger than batchSizeMax, in arrival order', async () => {
    const batches: number[][] = [];
    const writer = new BatchWriter<number, number>(async (batch) => {
      batches.push(batch);
      return batch.map((x) => x * 2);
    }, { batchSizeMax: 10, batchWindowMs: 1, queueLengthMax: 100, inFlightMax: 1 });
    const results = await Promise.all(Array.from({ length: 35 }, (_, i) => writer.submit([i])));
    assert.deepEqual(results.flat(), Array.from({ length: 35 }, (_, i) => i * 2));
    assert.deepEqual(batches.flat(), Array.from({ length: 35 }, (_, i) => i));
    assert.ok(batches.every((b) => b.length <= 10));
    assert.ok(batches.length < 35, 'requests share batches');
    await writer.close();
  });

  test('a full queue makes callers wait (backpressure) rather than grow', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let maxQueued = 0;
    const writer = new BatchWriter<number, number>(async (batch) => {
      await gate;
      return batch;
    }, { batchSizeMax: 2, batchWindowMs: 0, queueLengthMax: 4, inFlightMax: 1 });
    const pending = Array.from({ length: 20 }, (_, i) => writer.submit([i]));
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      maxQueued = Math.max(maxQueued, writer.queueLength);
    }
    assert.ok(maxQueued <= 4, `queue stayed bounded (${maxQueued})`);
    release();
    assert.deepEqual((await Promise.all(pending)).flat(), Array.from({ length: 20 }, (_, i) => i));
    await writer.close();
  });

  test('a failed batch rejects its own requests only', async () => {
    const writer = new BatchWriter<number, number>(async (batch) => {
      if (batch.includes(13)) throw new Error('database unreachable');
      return batch;
    }, { batchSizeMax: 1, batchWindowMs: 0, queueLengthMax: 10, inFlightMax: 2 });
    const [a, b] = await Promise.allSettled([writer.submit([12]), writer.submit([13])]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    await writer.close();
  });

  test('limits are asserted', () => {
    assert.throws(() => new BatchWriter(async (b) => b, { batchSizeMax: 0, batchWindowMs: 1, queueLengthMax: 10, inFlightMax: 1 }));
    assert.throws(() => new BatchWriter(async (b) => b, { batchSizeMax: 10, batchWindowMs: 1, queueLengthMax: 5, inFlightMax: 1 }));
  });
});
