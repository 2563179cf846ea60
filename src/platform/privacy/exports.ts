import { strToU8, zipSync } from 'fflate';
import type { Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import type { PlatformTables } from '../tables.ts';
import { errors } from '../errors.ts';
import type { PrivacyRequests } from './requests.ts';
import type { PrivacySections } from './sections.ts';
import type { PrivacyDb, PrivacyTables } from './tables.ts';

export type DataExport = PrivacyTables['data_exports'];

/** One free copy a month (五(一)); a download link lives 7 days. */
export const exportFreeEveryMs = 30 * 86_400_000;
export const exportLinkLifetimeMs = 7 * 86_400_000;
const jobBatchMax = 20;

/** JSON with bigints as decimal strings and binary as base64, so every row serialises. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    return v;
  }, 2);
}

/**
 * The copy of everything (五(一)): a request makes a job; the job checks every section can be
 * read and marks the copy ready with a 7-day link; the ZIP is built at download time, after the
 * user proved who they are again, and is never stored, so no clear copy of the AML data sits
 * at rest anywhere.
 */
export class DataExports {
  readonly #db: Kysely<PrivacyDb>;
  readonly #sections: PrivacySections;
  readonly #requests: PrivacyRequests;
  readonly #clock: () => Date;
  readonly #codes: SmsCodes;

  constructor(options: { db: Kysely<PrivacyDb>; sections: PrivacySections; requests: PrivacyRequests; codes: SmsCodes; clock: () => Date }) {
    this.#codes = options.codes;
    this.#db = options.db;
    this.#sections = options.sections;
    this.#requests = options.requests;
    this.#clock = options.clock;
  }

  async request(userId: string): Promise<DataExport> {
    const now = this.#clock();
    const last = await this.#db.selectFrom('data_exports').select('requested_at').where('user_id', '=', userId)
      .orderBy('requested_at', 'desc').limit(1).executeTakeFirst();
    if (last && now.getTime() - last.requested_at.getTime() < exportFreeEveryMs) {
      const nextFreeAt = new Date(last.requested_at.getTime() + exportFreeEveryMs);
      throw errors.export_limit_reached(`A copy of your data is free once a month; the next one can be asked from ${nextFreeAt.toISOString()}.`,
        undefined, { next_free_at: nextFreeAt.toISOString() });
    }
    return this.#db.transaction().execute(async (trx) => {
      const request = await this.#requests.submit(userId, 'access', 'A copy of all my personal data (POST /v1/privacy/exports)', trx);
      const row: DataExport = {
        id: newId('exp'), user_id: userId, request_id: request.id, status: 'pending', requested_at: now, ready_at: null,
        expires_at: null, downloaded_at: null, sections: null,
      };
      await trx.insertInto('data_exports').values(row).execute();
      return row;
    });
  }

  async get(userId: string, exportId: string): Promise<DataExport> {
    const row = await this.#db.selectFrom('data_exports').selectAll().where('id', '=', exportId).where('user_id', '=', userId).executeTakeFirst();
    if (!row) throw errors.not_found('No data export with this id on this account.', 'id');
    return this.#expiredNow(row);
  }

  async list(userId: string): Promise<DataExport[]> {
    const rows = await this.#db.selectFrom('data_exports').selectAll().where('user_id', '=', userId).orderBy('requested_at', 'desc').limit(100).execute();
    return rows.map((r) => this.#expiredNow(r));
  }

  /** The job: prepares pending exports (every section read once), marks them ready and answers the access request. */
  async runOnce(): Promise<number> {
    const pending = await this.#db.selectFrom('data_exports').selectAll().where('status', '=', 'pending').orderBy('requested_at').limit(jobBatchMax).execute();
    for (const job of pending) {
      const counts: Record<string, number> = {};
      for (const section of this.#sections.all()) {
        const tables = await section.export(job.user_id);
        counts[section.name] = Object.values(tables).reduce((n, rows) => n + rows.length, 0);
      }
      const now = this.#clock();
      await this.#db.transaction().execute(async (trx) => {
        const updated = await trx.updateTable('data_exports').set({
          status: 'ready', ready_at: now, expires_at: new Date(now.getTime() + exportLinkLifetimeMs), sections: JSON.stringify(counts),
        }).where('id', '=', job.id).where('status', '=', 'pending').executeTakeFirst();
        if (updated.numUpdatedRows === 1n) {
          await this.#requests.answer(job.request_id, { status: 'completed', answer: `A copy is ready to download until ${new Date(now.getTime() + exportLinkLifetimeMs).toISOString()}.` }, trx);
        }
      });
    }
    return pending.length;
  }

  /**
   * The ZIP: one JSON file per section and a summary. The caller has re-verified the user
   * (password or SMS code) just before.
   */
  async download(userId: string, exportId: string): Promise<Uint8Array> {
    const row = await this.get(userId, exportId);
    if (row.status === 'pending') throw errors.export_not_ready('The copy is still being prepared; try again in a minute.', 'id');
    if (row.status === 'expired') throw errors.export_expired('This download link expired; ask for a new copy.', 'id');
    const now = this.#clock();
    const files: Record<string, Uint8Array> = {};
    const summary: string[] = [
      '小米支付 · 个人信息副本 / Mi Pay · a copy of your personal data',
      `Account ${userId}; made ${now.toISOString()}; asked ${row.requested_at.toISOString()}.`,
      '',
      'Each file holds one part of what the platform keeps about you:',
    ];
    for (const section of this.#sections.all()) {
      const tables = await section.export(userId);
      files[`${section.name}.json`] = strToU8(toJson(tables));
      const counts = Object.entries(tables).map(([table, rows]) => `${table}: ${rows.length}`).join(', ');
      summary.push(`- ${section.name}.json — ${section.description} (${counts})`);
    }
    summary.push('', 'Identity and transaction records are kept 10 years after the account closes (AML law Art. 34); everything else is deleted when you deregister.');
    files['summary.txt'] = strToU8(`${summary.join('\n')}\n`);
    await this.#db.updateTable('data_exports').set({ downloaded_at: now, status: 'downloaded' }).where('id', '=', row.id).execute();
    return zipSync(files, { level: 6, mtime: now });
  }

  /** Identity re-verified by a code texted for `privacy_export` (a wrong try is counted even though it fails). */
  async confirmSmsCode(phone: string, code: string): Promise<void> {
    const outcome = await transactionWithRetry(this.#db as unknown as Kysely<PlatformTables>, (trx) => this.#codes.consume(trx, phone, 'privacy_export', code));
    if (outcome.error) throw outcome.error;
  }

  #expiredNow(row: DataExport): DataExport {
    if (row.status !== 'pending' && row.expires_at && this.#clock().getTime() > row.expires_at.getTime()) return { ...row, status: 'expired' };
    return row;
  }
}
