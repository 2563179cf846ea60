import type { Logger } from './log/logger.ts';

/**
 * Runs `pass` every `intervalMs`, one pass at a time (a slow pass is never overlapped by the
 * next), until `stop()`, which waits for a pass under way. The timer does not keep the process
 * alive. A failing pass is logged and the next one runs as usual.
 */
export class PeriodicJob {
  readonly #name: string;
  readonly #pass: () => Promise<unknown>;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(name: string, pass: () => Promise<unknown>, logger: Logger) {
    this.#name = name;
    this.#pass = pass;
    this.#logger = logger;
  }

  start(intervalMs: number): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.#pass()
        .catch((error) => this.#logger.error({ err: error, job: this.#name }, 'periodic pass failed'))
        .finally(() => { this.#running = undefined; });
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
