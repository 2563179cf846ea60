import type { Kysely, Selectable } from 'kysely';
import type { Logger } from '../infra/log/logger.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';
import { formatAmount, formatOriginalData } from '../protocols/iso8583/spec.ts';
import type { BinRoutingTable, IssuerLink } from './routing.ts';
import { cardNumberAtRest, tokenAtRest, unsealCardNumber, type CardKeys } from './card-number.ts';
import { isTokenPan, type TokenService } from './token-service.ts';
import { networkStan, retrievalReference, transmissionDateTime, type NetworkTables } from './tables.ts';
import { ResponseCode } from '../protocols/iso8583/response-codes.ts';

export interface ReversalWorkerOptions {
  db: Kysely<NetworkTables>;
  logger: Logger;
  issuers: ReadonlyMap<string, IssuerLink>;
  /** To find the issuer of a request whose route was never recorded (see `recoverAbandoned`). */
  routes: BinRoutingTable;
  tokenService: TokenService;
  acquirerId: string;
  /** The log keeps card numbers sealed under these (card-number.ts); a reversal opens the one it sends. */
  cardKeys: CardKeys;
  bankTimeoutMs: number;
  /** How often pending reversals are looked at when nothing kicks the worker. */
  intervalMs?: number;
  /** Attempts before a reversal is left for an operator ('failed'); the backoff caps at 30 s. */
  attemptsMax?: number;
  clock?: () => Date;
}

const batchSizeMax = 50;
/** Beyond twice the issuer timeout, before a pending request counts as abandoned. */
const abandonedMarginMs = 5_000;

/**
 * Sends 0400 reversals to issuers for requests they may have processed but did not answer
 * (or that a terminal reversed), until the issuer acknowledges with a 0410. The reversal is
 * persisted first, so it survives a restart; every retry carries the same STAN and
 * transmission time, so the issuer sees duplicates of one reversal, never a second one.
 */
export class ReversalWorker {
  readonly #o: ReversalWorkerOptions;
  readonly #clock: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: ReversalWorkerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? (() => new Date());
  }

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => this.kick(), this.#o.intervalMs ?? 1_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** Looks at pending reversals now (after a timeout, or a terminal's 0400). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.runOnce().catch((error: unknown) => {
      this.#o.logger.error({ err: error }, 'reversal run failed');
    }).finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /**
   * Requests the network logged but never recorded an answer for — it crashed while the issuer
   * had them, or the answer's write failed after the issuer approved (the terminal got 96). Once
   * no forward of them can still be running (twice the issuer timeout, and some), they may have
   * moved money the terminal was told nothing or "declined" about: each is marked timed out and
   * reversed at its issuer, found again from the card number (for a token, the token service
   * names the card). An issuer that never saw the original acknowledges the reversal all the same.
   */
  async recoverAbandoned(): Promise<number> {
    const now = this.#clock();
    const abandoned = await this.#o.db.selectFrom('transactions').select(['id', 'pan_sealed', 'pan_hash']).where('status', '=', 'pending')
      .where('created_at', '<', new Date(now.getTime() - (this.#o.bankTimeoutMs * 2 + abandonedMarginMs)))
      .orderBy('id').limit(batchSizeMax).execute();
    for (const row of abandoned) {
      const logged = unsealCardNumber(this.#o.cardKeys, row);
      const token = logged && isTokenPan(logged) ? logged : null;
      const pan = token ? await this.#o.tokenService.cardNumberForReversal(token) : logged;
      const issuerCode = pan ? this.#o.routes.route(pan) ?? null : null;
      await this.#o.db.updateTable('transactions').set({
        status: 'timed_out', response_code: ResponseCode.ISSUER_INOPERATIVE, issuer_code: issuerCode,
        ...(pan && token ? { ...cardNumberAtRest(this.#o.cardKeys, pan), ...tokenAtRest(this.#o.cardKeys, token) } : {}),
        reversal_status: 'pending', reversal_next_at: now,
      }).where('id', '=', row.id).where('status', '=', 'pending').where('reversal_status', 'in', ['none', 'pending']).execute();
      this.#o.logger.warn({ rrn: retrievalReference(row.id), issuer: issuerCode }, 'request abandoned without a recorded answer; reversing');
    }
    return abandoned.length;
  }

  /** One pass over due reversals; resolves when each got an answer or was rescheduled. */
  async runOnce(): Promise<void> {
    await this.recoverAbandoned();
    const now = this.#clock();
    const due = await this.#o.db.selectFrom('transactions').selectAll()
      .where('reversal_status', '=', 'pending').where('reversal_next_at', '<=', now).where('status', '!=', 'pending')
      .orderBy('id').limit(batchSizeMax).execute();
    await Promise.all(due.map((row) => this.#reverse(row)));
  }

  async #reverse(row: Selectable<NetworkTables['transactions']>): Promise<void> {
    // Once reversed, nothing will send this card number again: its sealed copy goes.
    const done = (status: 'done' | 'failed') => this.#o.db.updateTable('transactions')
      .set({ reversal_status: status, reversal_next_at: null, ...(status === 'done' ? { pan_sealed: null, token_sealed: null } : {}) }).where('id', '=', row.id).execute();
    // Declined requests moved no money; only approvals and unanswered requests are reversed.
    if (row.status === 'answered' && row.response_code !== ResponseCode.APPROVED) return void (await done('done'));
    const issuer = row.issuer_code ? this.#o.issuers.get(row.issuer_code) : undefined;
    const pan = issuer ? unsealCardNumber(this.#o.cardKeys, row) : undefined;
    if (!issuer || !pan) return void (await done('done'));
    let transmission = row.reversal_transmission;
    if (!transmission) {
      transmission = transmissionDateTime(this.#clock());
      await this.#o.db.updateTable('transactions').set({ reversal_transmission: transmission }).where('id', '=', row.id).execute();
    }
    const stan = networkStan(row.id);
    const reversal: Iso8583Message = {
      mti: '0400',
      fields: {
        2: pan, 3: row.processing_code, 4: formatAmount(row.amount_fen), 7: transmission, 11: stan, 32: this.#o.acquirerId,
        33: this.#o.acquirerId, 37: retrievalReference(row.id), 41: row.terminal_id, 42: row.merchant_id, 49: '156',
        90: formatOriginalData({ mti: row.pos_mti, stan, transmissionDateTime: row.transmission, acquirerId: this.#o.acquirerId, forwarderId: this.#o.acquirerId }),
      },
    };
    try {
      await issuer.client.send(reversal, this.#o.bankTimeoutMs);
      await done('done');
      this.#o.logger.info({ rrn: retrievalReference(row.id), issuer: row.issuer_code }, 'reversal acknowledged');
    } catch (error) {
      const attempts = row.reversal_attempts + 1;
      const backoffMs = Math.min(30_000, 100 * 2 ** Math.min(attempts, 10));
      const failed = attempts >= (this.#o.attemptsMax ?? 1_000);
      await this.#o.db.updateTable('transactions').set({
        reversal_attempts: attempts, reversal_status: failed ? 'failed' : 'pending',
        reversal_next_at: failed ? null : new Date(this.#clock().getTime() + backoffMs),
      }).where('id', '=', row.id).execute();
      this.#o.logger.warn({ err: error, rrn: retrievalReference(row.id), attempts }, 'reversal not acknowledged; will retry');
    }
  }
}
