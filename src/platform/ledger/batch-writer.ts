import assert from 'node:assert/strict';

/**
 * Collects requests from many callers and hands them to `apply` in batches, so that a thousand
 * concurrent transfers cost a handful of round trips and commits instead of a thousand.
 *
 * A batch leaves when it is full (`batchSizeMax`), or `batchWindowMs` after its first request
 * arrived, or — while `inFlightMax` batches are already at the database — as soon as one of
 * them returns (the requests that queued meanwhile have waited a batch's time already). The
 * queue is bounded: a caller that finds it full waits for room (backpressure) rather than
 * growing memory without limit. Requests keep their arrival order within and across batches.
 */
export interface BatchWriterOptions {
  batchSizeMax: number;
  batchWindowMs: number;
  queueLengthMax: number;
  /** Batches at the database at once; each holds one connection. */
  inFlightMax: number;
}

export const batchWriterLimits = {
  batchSizeMax: 8_192,
  batchWindowMs: 100,
  queueLengthMax: 1_000_000,
  inFlightMax: 64,
} as const;

interface Entry<Req, Res> {
  request: Req;
  resolve(result: Res): void;
  reject(error: unknown): void;
}

export class BatchWriter<Req, Res> {
  readonly #apply: (batch: Req[]) => Promise<Res[]>;
  readonly #options: BatchWriterOptions;
  #queue: Entry<Req, Res>[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #roomWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(apply: (batch: Req[]) => Promise<Res[]>, options: BatchWriterOptions) {
    assert.ok(Number.isInteger(options.batchSizeMax) && options.batchSizeMax >= 1 && options.batchSizeMax <= batchWriterLimits.batchSizeMax);
    assert.ok(options.batchWindowMs >= 0 && options.batchWindowMs <= batchWriterLimits.batchWindowMs);
    assert.ok(Number.isInteger(options.queueLengthMax) && options.queueLengthMax >= options.batchSizeMax
      && options.queueLengthMax <= batchWriterLimits.queueLengthMax);
    assert.ok(Number.isInteger(options.inFlightMax) && options.inFlightMax >= 1 && options.inFlightMax <= batchWriterLimits.inFlightMax);
    this.#apply = apply;
    this.#options = options;
  }

  /** Queues the requests (waiting for room if the queue is full) and resolves with their results, in order. */
  async submit(requests: readonly Req[]): Promise<Res[]> {
    const results: Promise<Res>[] = [];
    for (const request of requests) {
      while (this.#queue.length >= this.#options.queueLengthMax) {
        await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
      }
      assert.ok(!this.#closed, 'the ledger writer is closed');
      results.push(new Promise<Res>((resolve, reject) => this.#queue.push({ request, resolve, reject })));
      if (this.#queue.length >= this.#options.batchSizeMax) this.#dispatch();
    }
    if (this.#queue.length > 0 && this.#timer === undefined && this.#inFlight < this.#options.inFlightMax) {
      this.#timer = setTimeout(() => this.#dispatch(), this.#options.batchWindowMs);
    }
    return Promise.all(results);
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  /** Refuses new requests and resolves once everything queued has been applied. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dispatch();
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  #dispatch(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#inFlight < this.#options.inFlightMax && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.batchSizeMax);
      this.#inFlight++;
      void this.#run(batch);
    }
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  async #run(batch: Entry<Req, Res>[]): Promise<void> {
    try {
      const results = await this.#apply(batch.map((e) => e.request));
      assert.equal(results.length, batch.length, 'a batch returns one result per request');
      batch.forEach((entry, i) => entry.resolve(results[i]!));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      this.#inFlight--;
      if (this.#queue.length > 0) this.#dispatch();
      if (this.#queue.length === 0 && this.#inFlight === 0) {
        for (const wake of this.#idleWaiters.splice(0)) wake();
      }
    }
  }
}
