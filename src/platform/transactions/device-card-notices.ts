/**
 * The wallet server's side of device-card transaction notices: the TSP (the card network's
 * token service) tells the wallet of every tap, refund, reversal, pre-authorization and
 * completion it saw, approved or declined, and the wallet keeps them as the user's history
 * (shown with balance and quick-pay transactions in `GET /v1/transactions`, payments/history.ts)
 * and pushes them to the phone (devices' event stream, device-events.ts).
 *
 * The notice names the device card by its token reference: today the platform's device card id
 * (`device_cards.id`), which is what the wallet knows the token by; never the token number.
 * A retried notice (same RRN, terminal and kind) is stored once and not pushed again.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { newId } from '../../infra/ids.ts';
import type { PlatformTables } from '../tables.ts';

export interface DeviceCardTransactionNotice {
  tokenReferenceId: string; tokenLast4: string;
  kind: 'purchase' | 'refund' | 'reversal' | 'preauth' | 'completion';
  outcome: 'approved' | 'declined'; responseCode: string; declineReason?: string;
  amountFen: number; merchantId: string; merchantName: string; mcc: string; terminalId: string;
  stan: string; rrn: string; originalRrn?: string; occurredAt: string; // ISO 8601
}

export type DeviceCardTransaction = PlatformTables['device_card_transactions'];

/** The notice as it must be: anything else is refused, naming the field, and nothing is stored. */
const noticeSchema = z.object({
  tokenReferenceId: z.string().min(1).max(64),
  tokenLast4: z.string().regex(/^[0-9]{4}$/),
  kind: z.enum(['purchase', 'refund', 'reversal', 'preauth', 'completion']),
  outcome: z.enum(['approved', 'declined']),
  responseCode: z.string().regex(/^[0-9A-Z]{2}$/),
  declineReason: z.string().min(1).max(64).optional(),
  // ¥1,000,000 at most: far above any card-present payment.
  amountFen: z.number().int().min(0).max(100_000_000),
  merchantId: z.string().min(1).max(15),
  merchantName: z.string().max(40),
  mcc: z.string().regex(/^[0-9]{4}$/),
  terminalId: z.string().min(1).max(8),
  stan: z.string().regex(/^[0-9]{6}$/),
  rrn: z.string().regex(/^[0-9A-Za-z]{12}$/),
  originalRrn: z.string().regex(/^[0-9A-Za-z]{12}$/).optional(),
  occurredAt: z.iso.datetime({ offset: true }),
}).strict();

/** A notice the wallet refuses: malformed, or naming a device card it does not know. */
export class DeviceCardNoticeError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = 'DeviceCardNoticeError';
    this.field = field;
  }
}

export type StoredNoticeListener = (row: DeviceCardTransaction) => void;

/** Kinds whose `originalRrn` names the device card's earlier transaction they follow (refund → its sale). */
const linkedKinds: Record<DeviceCardTransaction['kind'], readonly DeviceCardTransaction['kind'][]> = {
  purchase: [], preauth: [], refund: ['purchase', 'completion'], completion: ['preauth'], reversal: ['purchase', 'refund', 'preauth', 'completion'],
};

export class DeviceCardNotices {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;
  readonly #listeners: StoredNoticeListener[] = [];

  constructor(db: Kysely<PlatformTables>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Called with each newly stored transaction (not with a retried notice's). */
  onStored(listener: StoredNoticeListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Stores one notice; `stored` is false when it was a retry of one already stored (the first
   * row is answered). Throws DeviceCardNoticeError for a malformed notice or an unknown card.
   */
  async receive(input: unknown): Promise<{ stored: boolean; transaction: DeviceCardTransaction }> {
    const parsed = noticeSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || 'notice';
      throw new DeviceCardNoticeError(field, `The notice's ${field} is invalid: ${issue.message}.`);
    }
    const notice = parsed.data;
    if (notice.outcome === 'approved' && notice.responseCode !== '00') {
      throw new DeviceCardNoticeError('responseCode', 'An approved notice has response code 00.');
    }
    const card = await this.#db.selectFrom('device_cards').select(['id', 'user_id', 'device_id', 'bank_name', 'token_last4'])
      .where('token_ref_id', '=', notice.tokenReferenceId).where('kind', '=', 'bank').executeTakeFirst();
    if (!card) throw new DeviceCardNoticeError('tokenReferenceId', 'No device card has this token reference.');
    if (card.token_last4 !== notice.tokenLast4) throw new DeviceCardNoticeError('tokenLast4', 'The token\'s last 4 are not this device card\'s.');

    const occurredAt = new Date(notice.occurredAt);
    let refundOf: string | null = null;
    const linked = linkedKinds[notice.kind];
    if (notice.originalRrn && linked.length > 0) {
      const original = await this.#db.selectFrom('device_card_transactions').select('id').where('device_card_id', '=', card.id)
        .where('rrn', '=', notice.originalRrn).where('kind', 'in', linked).orderBy('id').executeTakeFirst();
      refundOf = original?.id ?? null;
    }
    const row: DeviceCardTransaction = {
      // Time-ordered by the tap's own time, so the merged history sorts taps among the other transactions.
      id: newId('txn', occurredAt.getTime()), user_id: card.user_id, device_id: card.device_id, device_card_id: card.id,
      kind: notice.kind, outcome: notice.outcome, response_code: notice.responseCode, decline_reason: notice.declineReason ?? null,
      amount_fen: BigInt(notice.amountFen), merchant_id: notice.merchantId, merchant_name: notice.merchantName.trim(), mcc: notice.mcc,
      terminal_id: notice.terminalId, stan: notice.stan, rrn: notice.rrn, original_rrn: notice.originalRrn ?? null, refund_of: refundOf,
      token_last4: card.token_last4, bank_name: card.bank_name, occurred_at: occurredAt, received_at: this.#clock(),
    };
    const inserted = await this.#db.insertInto('device_card_transactions').values(row)
      .onConflict((oc) => oc.columns(['rrn', 'terminal_id', 'kind']).doNothing()).returning('id').executeTakeFirst();
    if (!inserted) {
      const first = await this.#db.selectFrom('device_card_transactions').selectAll().where('rrn', '=', notice.rrn)
        .where('terminal_id', '=', notice.terminalId).where('kind', '=', notice.kind).executeTakeFirstOrThrow();
      return { stored: false, transaction: first };
    }
    for (const listener of this.#listeners) listener(row);
    return { stored: true, transaction: row };
  }

  /** A user's device-card transactions older than `beforeId` (ids are time-ordered), newest first. */
  async page(userId: string, options: { limit: number; beforeId?: string | undefined; deviceCardId?: string | undefined }): Promise<DeviceCardTransaction[]> {
    let query = this.#db.selectFrom('device_card_transactions').selectAll().where('user_id', '=', userId);
    if (options.beforeId) query = query.where('id', '<', options.beforeId);
    if (options.deviceCardId) query = query.where('device_card_id', '=', options.deviceCardId);
    return query.orderBy('id', 'desc').limit(options.limit).execute();
  }

  async get(userId: string, id: string): Promise<DeviceCardTransaction | undefined> {
    return this.#db.selectFrom('device_card_transactions').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  }

  /** Between two instants (`to` excluded), newest first. */
  async between(userId: string, range: { from?: Date | undefined; to?: Date | undefined }, limit: number): Promise<DeviceCardTransaction[]> {
    let query = this.#db.selectFrom('device_card_transactions').selectAll().where('user_id', '=', userId);
    if (range.from) query = query.where('occurred_at', '>=', range.from);
    if (range.to) query = query.where('occurred_at', '<', range.to);
    return query.orderBy('id', 'desc').limit(limit).execute();
  }

  /** A device's transactions stored after `afterId` (oldest first): what its event stream replays after a reconnect. */
  async forDeviceAfter(deviceId: string, afterId: string, limit: number): Promise<DeviceCardTransaction[]> {
    return this.#db.selectFrom('device_card_transactions').selectAll().where('device_id', '=', deviceId)
      .where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }
}
