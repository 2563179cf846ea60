// The wallet's background work while the phone is online (issue 12, item 4): a sync on start,
// after every tap and on a timer, so the limited-use keys are topped up long before they run
// short or lapse; offline, it stays quiet (paying needs no network). And the warnings the wallet
// shows when a card has few offline payments left.
import { PhoneError, PlatformError, PlatformUnreachableError } from './errors.ts';
import type { MiPhone } from './phone.ts';
import { sync, type SyncResult } from './wallet.ts';

/** A card with this many offline payments left, or fewer, is flagged to the user. */
export const fewPaymentsLeft = 5;
/** The timer's default: every 15 minutes while the wallet runs. */
export const backgroundSyncIntervalMs = 15 * 60_000;

export interface OfflineWarning { id: string; tokenLast4: string; paymentsLeft: number; message: string }

/** The cards that can pay but have few offline payments left (their unexpired keys). */
export function offlineWarnings(phone: MiPhone): OfflineWarning[] {
  return phone.cards().filter((card) => card.status === 'active' && card.keysLeft <= fewPaymentsLeft).map((card) => ({
    id: card.id, tokenLast4: card.tokenLast4, paymentsLeft: card.keysLeft,
    message: `****${card.tokenLast4}: ${card.keysLeft} offline payment(s) left; connect to the network to refresh its keys.`,
  }));
}

export interface BackgroundSyncOptions {
  intervalMs?: number;
  /** Told each finished sync (what was replenished, wiped, …). */
  onSynced?: (result: SyncResult) => void;
  /** Told when a sync failed for a reason other than being offline (the session ended, the platform refused). */
  onProblem?: (error: Error) => void;
}

/** Runs `sync` on start, after each tap and on a timer; one at a time (a kick during a run runs once more after it). */
export class BackgroundSync {
  readonly #phone: MiPhone;
  readonly #options: BackgroundSyncOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SyncResult | undefined> | undefined;
  #again = false;

  constructor(phone: MiPhone, options: BackgroundSyncOptions = {}) {
    this.#phone = phone;
    this.#options = options;
  }

  /** On start: one sync now, then the timer. */
  async start(): Promise<SyncResult | undefined> {
    this.#timer ??= setInterval(() => void this.kick(), this.#options.intervalMs ?? backgroundSyncIntervalMs);
    this.#timer.unref();
    return this.kick();
  }

  /** After a tap: the key just spent may bring the card under its stock. */
  afterTap(): Promise<SyncResult | undefined> {
    return this.kick();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A sync now (or once more after the one running); undefined when offline or refused. */
  kick(): Promise<SyncResult | undefined> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let result: SyncResult | undefined;
      do {
        this.#again = false;
        result = await this.#once();
      } while (this.#again);
      return result;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #once(): Promise<SyncResult | undefined> {
    if (!this.#phone.state.session) return undefined;
    try {
      const result = await sync(this.#phone);
      this.#options.onSynced?.(result);
      return result;
    } catch (error) {
      // Offline is the normal case for a phone: paying needs no network; the next kick tries again.
      if (error instanceof PlatformUnreachableError) return undefined;
      if (!(error instanceof PhoneError) && !(error instanceof PlatformError)) throw error;
      this.#options.onProblem?.(error);
      return undefined;
    }
  }
}
