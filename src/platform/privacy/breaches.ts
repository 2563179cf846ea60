import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import type { PrivacyDb, PrivacyTables } from './tables.ts';

export type BreachRecord = PrivacyTables['breach_records'];

const textMax = 4000;

function required(value: string, field: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > textMax) throw new RangeError(`${field}: 1 to ${textMax} characters`);
  return trimmed;
}

/**
 * Breach records (privacy policy 四(一)): an operator records a personal-data breach, then when
 * the regulator and the users were notified. An ops-side service; the staff console and roles
 * arrive with the staff branch, until then the `mipay privacy breach` command drives it.
 */
export class BreachRecords {
  readonly #db: Kysely<PrivacyDb>;
  readonly #clock: () => Date;

  constructor(db: Kysely<PrivacyDb>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  async record(input: {
    occurredAt: Date; discoveredAt: Date; recordedBy: string; description: string; dataCategories: string; affectedUsersCount: number; measures: string;
  }): Promise<BreachRecord> {
    if (!Number.isInteger(input.affectedUsersCount) || input.affectedUsersCount < 0) throw new RangeError('affected users: a whole number ≥ 0');
    if (input.discoveredAt.getTime() < input.occurredAt.getTime()) throw new RangeError('discovered before it occurred');
    const now = this.#clock();
    if (input.discoveredAt.getTime() > now.getTime()) throw new RangeError('discovered in the future');
    const row: BreachRecord = {
      id: newId('brc'), occurred_at: input.occurredAt, discovered_at: input.discoveredAt, recorded_at: now, recorded_by: required(input.recordedBy, 'recorded by'),
      description: required(input.description, 'description'), data_categories: required(input.dataCategories, 'data categories'),
      affected_users_count: input.affectedUsersCount, measures: required(input.measures, 'measures'),
      regulator_notified_at: null, regulator_reference: null, users_notified_at: null, users_notification_channel: null,
    };
    await this.#db.insertInto('breach_records').values(row).execute();
    return row;
  }

  /** Records when the regulator was told, and its reference; once. */
  async regulatorNotified(id: string, at: Date, reference: string): Promise<BreachRecord> {
    return this.#notified(id, at, { regulator_notified_at: at, regulator_reference: required(reference, 'reference') }, 'regulator_notified_at');
  }

  /** Records when the users were told, and how (SMS, in-app, e-mail); once. */
  async usersNotified(id: string, at: Date, channel: string): Promise<BreachRecord> {
    return this.#notified(id, at, { users_notified_at: at, users_notification_channel: required(channel, 'channel') }, 'users_notified_at');
  }

  async #notified(id: string, at: Date, set: Partial<BreachRecord>, column: 'regulator_notified_at' | 'users_notified_at'): Promise<BreachRecord> {
    const breach = await this.get(id);
    if (at.getTime() < breach.discovered_at.getTime() || at.getTime() > this.#clock().getTime()) {
      throw new RangeError('a notification falls between the discovery and now');
    }
    const result = await this.#db.updateTable('breach_records').set(set).where('id', '=', id).where(column, 'is', null).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new RangeError(`breach ${id}: this notification was already recorded`);
    return this.get(id);
  }

  async get(id: string): Promise<BreachRecord> {
    const row = await this.#db.selectFrom('breach_records').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new RangeError(`no breach record ${id}`);
    return row;
  }

  async list(limit = 200): Promise<BreachRecord[]> {
    return this.#db.selectFrom('breach_records').selectAll().orderBy('discovered_at', 'desc').limit(limit).execute();
  }
}
