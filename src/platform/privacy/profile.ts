import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import type { PlatformTables } from '../tables.ts';
import { errors } from '../errors.ts';
import type { PrivacyDb, PrivacyTables } from './tables.ts';

/** A phone in history shows its first 3 and last 4 digits only. */
export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}****${phone.slice(-4)}`;
}

/**
 * Corrections of the profile (五(二)): nickname, avatar and login phone. Each change is a row in
 * `profile_history`, which the user reads and which the export carries.
 */
export class ProfileCorrections {
  readonly #db: Kysely<PrivacyDb>;
  readonly #codes: SmsCodes;
  readonly #clock: () => Date;

  constructor(db: Kysely<PrivacyDb>, codes: SmsCodes, clock: () => Date) {
    this.#db = db;
    this.#codes = codes;
    this.#clock = clock;
  }

  async correct(userId: string, change: { nickname?: string | undefined; avatarUrl?: string | null | undefined }): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['nickname', 'avatar_url']).where('id', '=', userId).forUpdate().executeTakeFirstOrThrow();
      const now = this.#clock();
      if (change.nickname !== undefined && change.nickname !== user.nickname) {
        await trx.updateTable('users').set({ nickname: change.nickname }).where('id', '=', userId).execute();
        await this.record(trx, userId, 'nickname', user.nickname, change.nickname, now);
      }
      if (change.avatarUrl !== undefined && change.avatarUrl !== user.avatar_url) {
        await trx.updateTable('users').set({ avatar_url: change.avatarUrl }).where('id', '=', userId).execute();
        await this.record(trx, userId, 'avatar_url', user.avatar_url, change.avatarUrl, now);
      }
    });
  }

  /** Texts a code to the current and to the new phone (purpose `login_phone_change`). */
  async requestPhoneChange(userId: string, newPhone: string): Promise<{ expiresAt: Date }> {
    const user = await this.#db.selectFrom('users').select('phone').where('id', '=', userId).executeTakeFirstOrThrow();
    if (newPhone === user.phone) throw errors.parameter_invalid('This is already the account\'s phone.', 'new_phone');
    await this.#codes.send(user.phone, 'login_phone_change');
    // The new phone's owner learns nothing more than that a code was asked; whether it has an account is said only at the change.
    return this.#codes.send(newPhone, 'login_phone_change');
  }

  /**
   * Moves the login to `newPhone`: both codes right, the new phone free; the old number stays
   * only masked in history. A wrong code leaves the other one unspent (the whole change rolls
   * back) but is itself counted, as any wrong try is.
   */
  async changePhone(userId: string, input: { newPhone: string; currentPhoneCode: string; newPhoneCode: string }): Promise<void> {
    const asPlatform = (trx: Kysely<PrivacyDb>) => trx as unknown as Kysely<PlatformTables>;
    let wrong: { phone: string; code: string; param: string; error: Error } | undefined;
    const rolledBack = new Error('phone change rolled back');
    try {
      await this.#db.transaction().execute(async (trx) => {
        const user = await trx.selectFrom('users').select('phone').where('id', '=', userId).forUpdate().executeTakeFirstOrThrow();
        for (const [phone, code, param] of [[user.phone, input.currentPhoneCode, 'current_phone_code'], [input.newPhone, input.newPhoneCode, 'new_phone_code']] as const) {
          const consumed = await this.#codes.consume(asPlatform(trx), phone, 'login_phone_change', code, param);
          if (consumed.error) {
            wrong = { phone, code, param, error: consumed.error };
            throw rolledBack;
          }
        }
        if (await trx.selectFrom('users').select('id').where('phone', '=', input.newPhone).executeTakeFirst()) {
          throw errors.phone_already_registered('This phone number already has a Mi account.', 'new_phone');
        }
        await trx.updateTable('users').set({ phone: input.newPhone }).where('id', '=', userId).execute();
        await this.record(trx, userId, 'phone', maskPhone(user.phone), maskPhone(input.newPhone), this.#clock());
      });
    } catch (error) {
      if (error !== rolledBack || !wrong) throw error;
      const { phone, code, param } = wrong;
      await this.#db.transaction().execute((trx) => this.#codes.consume(asPlatform(trx), phone, 'login_phone_change', code, param));
      throw wrong.error;
    }
  }

  /** Records a change; other domains (the AML data correction) call it in their transaction. */
  async record(db: Kysely<PrivacyDb>, userId: string, field: string, oldValue: string | null, newValue: string | null, at: Date = this.#clock()): Promise<void> {
    await db.insertInto('profile_history').values({ id: newId('phc'), user_id: userId, field, old_value: oldValue, new_value: newValue, changed_at: at }).execute();
  }

  async history(userId: string): Promise<PrivacyTables['profile_history'][]> {
    return this.#db.selectFrom('profile_history').selectAll().where('user_id', '=', userId).orderBy('changed_at', 'asc').orderBy('id', 'asc').limit(1000).execute();
  }
}
