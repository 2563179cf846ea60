import type { Kysely } from 'kysely';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';
import type { Transaction } from './service.ts';

export const exportRowsMax = 10_000;

/** A user's transactions (as payer or payee), newest first; ids are time-ordered, so they are the cursor. */
export class TransactionHistory {
  readonly #db: Kysely<PlatformTables>;

  constructor(db: Kysely<PlatformTables>) {
    this.#db = db;
  }

  #mine(userId: string) {
    return this.#db.selectFrom('transactions').selectAll().where((eb) => eb.or([eb('payer_user_id', '=', userId), eb('payee_user_id', '=', userId)]));
  }

  async page(userId: string, options: { limit: number; startingAfter?: string | undefined }): Promise<{ data: Transaction[]; hasMore: boolean }> {
    let query = this.#mine(userId);
    if (options.startingAfter) {
      await this.get(userId, options.startingAfter);
      query = query.where('id', '<', options.startingAfter);
    }
    const rows = await query.orderBy('id', 'desc').limit(options.limit + 1).execute();
    return { data: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
  }

  async get(userId: string, id: string): Promise<Transaction> {
    const row = await this.#mine(userId).where('id', '=', id).executeTakeFirst();
    if (!row) throw errors.not_found('No transaction with this id on this account.', 'id');
    return row;
  }

  /** `from` / `to` are Beijing dates, both included. */
  async export(userId: string, range: { from?: string | undefined; to?: string | undefined }): Promise<Transaction[]> {
    let query = this.#mine(userId);
    if (range.from) query = query.where('created_at', '>=', new Date(`${range.from}T00:00:00+08:00`));
    if (range.to) query = query.where('created_at', '<', new Date(new Date(`${range.to}T00:00:00+08:00`).getTime() + 86_400_000));
    return query.orderBy('id', 'desc').limit(exportRowsMax).execute();
  }
}

const csvColumns = [
  ['id', 'id'], ['created_at', 'created_at'], ['completed_at', 'completed_at'], ['type', 'type'], ['status', 'status'], ['direction', 'direction'],
  ['amount_yuan', 'amount'], ['currency', 'currency'], ['channel', 'channel'], ['funding_source', 'funding_source'], ['interface_type', 'interface_type'],
  ['payer_name', 'payer.name'], ['payer_account', 'payer.account'], ['payee_name', 'payee.name'], ['payee_account', 'payee.account'],
  ['merchant_name', 'merchant.name'], ['merchant_code', 'merchant.code'], ['mcc', 'merchant.mcc'], ['order_id', 'order_id'],
  ['authorization', 'authorization.method'], ['purpose', 'purpose'], ['reason', 'reason'], ['failure_code', 'failure_code'], ['trace_id', 'trace_id'],
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
