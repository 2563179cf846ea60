import type { Kysely } from 'kysely';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';
import type { DeviceCardNotices, DeviceCardTransaction } from '../transactions/device-card-notices.ts';
import type { Transaction } from './service.ts';

export const exportRowsMax = 10_000;

/** One line of the history: a balance or quick-pay transaction, or a device-card transaction the TSP notified. */
export type HistoryEntry = { source: 'payment'; row: Transaction } | { source: 'device_card'; row: DeviceCardTransaction };

/** Newest first by id: ids of both kinds are `txn_` + time-ordered, so they interleave by time and serve as the cursor. */
function newestFirst(a: HistoryEntry, b: HistoryEntry): number {
  return a.row.id < b.row.id ? 1 : a.row.id > b.row.id ? -1 : 0;
}

/**
 * A user's transactions (as payer or payee) and device-card transactions, newest first, as one
 * history; ids are time-ordered, so they are the cursor.
 */
export class TransactionHistory {
  readonly #db: Kysely<PlatformTables>;
  readonly #deviceCards: DeviceCardNotices | undefined;

  constructor(db: Kysely<PlatformTables>, deviceCards?: DeviceCardNotices) {
    this.#db = db;
    this.#deviceCards = deviceCards;
  }

  #mine(userId: string) {
    return this.#db.selectFrom('transactions').selectAll().where((eb) => eb.or([eb('payer_user_id', '=', userId), eb('payee_user_id', '=', userId)]));
  }

  /** With `deviceCardId`, only that device card's transactions. */
  async page(
    userId: string, options: { limit: number; startingAfter?: string | undefined; deviceCardId?: string | undefined },
  ): Promise<{ data: HistoryEntry[]; hasMore: boolean }> {
    let query = this.#mine(userId);
    if (options.startingAfter) {
      await this.get(userId, options.startingAfter);
      query = query.where('id', '<', options.startingAfter);
    }
    const payments: HistoryEntry[] = options.deviceCardId ? [] : (await query.orderBy('id', 'desc').limit(options.limit + 1).execute())
      .map((row) => ({ source: 'payment', row }));
    const taps: HistoryEntry[] = this.#deviceCards
      ? (await this.#deviceCards.page(userId, { limit: options.limit + 1, beforeId: options.startingAfter, deviceCardId: options.deviceCardId }))
        .map((row) => ({ source: 'device_card', row }))
      : [];
    const merged = [...payments, ...taps].sort(newestFirst);
    return { data: merged.slice(0, options.limit), hasMore: merged.length > options.limit };
  }

  async get(userId: string, id: string): Promise<HistoryEntry> {
    const row = await this.#mine(userId).where('id', '=', id).executeTakeFirst();
    if (row) return { source: 'payment', row };
    const tap = await this.#deviceCards?.get(userId, id);
    if (tap) return { source: 'device_card', row: tap };
    throw errors.not_found('No transaction with this id on this account.', 'id');
  }

  /** `from` / `to` are Beijing dates, both included. */
  async export(userId: string, range: { from?: string | undefined; to?: string | undefined }): Promise<HistoryEntry[]> {
    const from = range.from ? new Date(`${range.from}T00:00:00+08:00`) : undefined;
    const to = range.to ? new Date(new Date(`${range.to}T00:00:00+08:00`).getTime() + 86_400_000) : undefined;
    let query = this.#mine(userId);
    if (from) query = query.where('created_at', '>=', from);
    if (to) query = query.where('created_at', '<', to);
    const payments: HistoryEntry[] = (await query.orderBy('id', 'desc').limit(exportRowsMax).execute()).map((row) => ({ source: 'payment', row }));
    const taps: HistoryEntry[] = this.#deviceCards
      ? (await this.#deviceCards.between(userId, { from, to }, exportRowsMax)).map((row) => ({ source: 'device_card', row }))
      : [];
    return [...payments, ...taps].sort(newestFirst).slice(0, exportRowsMax);
  }
}

const csvColumns = [
  ['id', 'id'], ['created_at', 'created_at'], ['completed_at', 'completed_at'], ['type', 'type'], ['status', 'status'], ['direction', 'direction'],
  ['amount_yuan', 'amount'], ['currency', 'currency'], ['channel', 'channel'], ['funding_source', 'funding_source'], ['interface_type', 'interface_type'],
  ['payer_name', 'payer.name'], ['payer_account', 'payer.account'], ['payee_name', 'payee.name'], ['payee_account', 'payee.account'],
  ['merchant_name', 'merchant.name'], ['merchant_code', 'merchant.code'], ['mcc', 'merchant.mcc'], ['order_id', 'order_id'],
  ['authorization', 'authorization.method'], ['purpose', 'purpose'], ['reason', 'reason'], ['failure_code', 'failure_code'], ['trace_id', 'trace_id'],
  // Device-card transactions (the TSP's notices): the token's last 4, the network's answer and the sale a refund returns.
  ['refund_of', 'refund_of'], ['device_card_last4', 'device_card.token_last4'], ['response_code', 'device_card.response_code'],
  ['decline_reason', 'device_card.decline_reason'], ['terminal_id', 'device_card.terminal_id'], ['rrn', 'device_card.rrn'],
] as const;

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  // Quotes for commas, quotes and line breaks (RFC 4180); a leading = + - @ is defused so a spreadsheet never runs it as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** RFC 4180 CSV with a UTF-8 byte order mark, so spreadsheet programs read the Chinese names right. */
export function transactionsToCsv(rows: Array<Record<string, any>>): string {
  const lines = [csvColumns.map(([header]) => header).join(',')];
  for (const row of rows) {
    lines.push(csvColumns.map(([, path]) => {
      if (path === 'amount') {
        const fen = BigInt(row.amount_fen);
        return csvCell(`${fen / 100n}.${String(fen % 100n).padStart(2, '0')}`);
      }
      return csvCell(path.split('.').reduce<any>((value, key) => value?.[key], row));
    }).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
