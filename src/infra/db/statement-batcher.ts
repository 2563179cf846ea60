/**
 * Coalesces many small writes or reads into one statement per database round trip. Items
 * queued while a statement is in flight go out together in the next one, so with no load an
 * item waits for nothing, and under load a batch grows to whatever arrived during one round
 * trip — the database client stops being the bottleneck. `exclusiveKey` keeps two items with
 * the same key out of one statement (e.g. two updates of one row), the later one waiting for
 * the next; an item whose key is undefined is never held back.
 *
 * `isolateFailures`: when a statement carrying several items fails, each item is run again in
 * a statement of its own, so that one item's error (a constraint it breaks) fails only its own
 * caller. Only for statements that are atomic (a failed statement wrote nothing) and whose
 * items may run twice (inserts that skip duplicates, updates to a fixed value, reads).
 */
interface Queued<T, R> { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }

export interface StatementBatcherOptions<T> {
  /** Items per statement; default 200. */
  batchSizeMax?: number;
  exclusiveKey?: (item: T) => string | undefined;
  isolateFailures?: boolean;
}

export class StatementBatcher<T, R> {
  readonly #queue: Queued<T, R>[] = [];
  readonly #run: (items: T[]) => Promise<R[]>;
  readonly #batchSizeMax: number;
  readonly #exclusiveKey: ((item: T) => string | undefined) | undefined;
  readonly #isolateFailures: boolean;
  #flushing = false;

  constructor(run: (items: T[]) => Promise<R[]>, options: StatementBatcherOptions<T> = {}) {
    this.#run = run;
    this.#batchSizeMax = options.batchSizeMax ?? 200;
    this.#exclusiveKey = options.exclusiveKey;
    this.#isolateFailures = options.isolateFailures ?? false;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        // Everything queued in this turn of the event loop goes in the first statement.
        setImmediate(() => void this.#flush());
      }
    });
  }

  #take(): Queued<T, R>[] {
    if (!this.#exclusiveKey) return this.#queue.splice(0, this.#batchSizeMax);
    const keys = new Set<string>();
    const batch: Queued<T, R>[] = [];
    for (let i = 0; i < this.#queue.length && batch.length < this.#batchSizeMax;) {
      const key = this.#exclusiveKey(this.#queue[i]!.item);
      if (key !== undefined && keys.has(key)) {
        i += 1;
        continue;
      }
      if (key !== undefined) keys.add(key);
      batch.push(...this.#queue.splice(i, 1));
    }
    return batch;
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#take();
      try {
        const results = await this.#run(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => entry.resolve(results[i]!));
      } catch (error) {
        if (!this.#isolateFailures || batch.length === 1) {
          for (const entry of batch) entry.reject(error);
          continue;
        }
        for (const entry of batch) {
          try {
            entry.resolve((await this.#run([entry.item]))[0]!);
          } catch (alone) {
            entry.reject(alone);
          }
        }
      }
    }
    this.#flushing = false;
  }
}
