import { sql, type Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { triesLeft } from '../../infra/http/validation-message.ts';
import { newId } from '../../infra/ids.ts';
import { checkOtp, generateOtp, hashOtp, otpPolicy } from '../../infra/otp.ts';
import type { SmsGateway } from '../../sms/client.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';

export type SmsPurpose = 'sign_up' | 'payment_password_reset' | 'payment' | 'payment_certificate'
  | 'login_password_change' | 'login_phone_change' | 'privacy_export' | 'login_password_recovery';

const purposeText: Record<SmsPurpose, string> = {
  sign_up: '注册小米账号',
  payment_password_reset: '重置小米支付支付密码',
  payment: '确认小米支付付款（第二验证要素）',
  payment_certificate: '申请小米支付数字证书',
  login_password_change: '修改小米账号登录密码',
  login_phone_change: '更换小米账号手机号',
  privacy_export: '下载您的个人信息副本',
  login_password_recovery: '找回小米账号登录密码',
};

/** Per phone, across purposes: one code a minute, ten an hour. */
export const smsSendLimits = { perMinuteMax: 1, perHourMax: 10 } as const;

/**
 * The platform's own SMS verification codes (sign-up, payment password reset), under the
 * policy of infra/otp.ts: 6 digits, 5 minutes, single use, burned after 5 wrong tries.
 */
export class SmsCodes {
  readonly #db: Kysely<PlatformTables>;
  readonly #sms: SmsGateway;
  readonly #clock: () => Date;
  readonly #pepper: Buffer;

  /** `pepper`: the keyring's `platform.otp-pepper`; codes are stored keyed by it (infra/otp.ts). */
  constructor(db: Kysely<PlatformTables>, sms: SmsGateway, clock: () => Date, pepper: Buffer) {
    this.#db = db;
    this.#sms = sms;
    this.#clock = clock;
    this.#pepper = pepper;
  }

  /**
   * Texts a code for `purpose`. With `accountExists` (a sign-up code asked for a phone that has
   * a Mi account) the text tells the owner so and carries no code, while the row, the limits
   * and the answer are those of any other send: the caller cannot tell the two apart, and a
   * sign-up with a guessed code fails as for any phone (issue 10, section 7).
   */
  async send(phone: string, purpose: SmsPurpose, options: { accountExists?: boolean } = {}): Promise<{ expiresAt: Date }> {
    const now = this.#clock();
    const id = newId('smc');
    const code = generateOtp();
    const expiresAt = new Date(now.getTime() + otpPolicy.validityMs);
    const refusal = await transactionWithRetry(this.#db, async (trx) => {
      // One sender per phone at a time, so two simultaneous requests cannot both pass the limit.
      await sql`select pg_advisory_xact_lock(hashtext(${`platform-sms:${phone}`}))`.execute(trx);
      const recent = await trx
        .selectFrom('sms_codes')
        .select([
          sql<number>`count(*) filter (where created_at > ${new Date(now.getTime() - 60_000)})::int`.as('last_minute'),
          sql<number>`count(*)::int`.as('last_hour'),
          sql<Date | null>`max(created_at)`.as('latest'),
        ])
        .where('phone', '=', phone)
        .where('created_at', '>', new Date(now.getTime() - 3_600_000))
        .executeTakeFirstOrThrow();
      if (recent.last_hour >= smsSendLimits.perHourMax) {
        return errors.rate_limited('At most 10 codes an hour are sent to one phone.', 'phone', { retry_after_s: 3600 });
      }
      if (recent.last_minute >= smsSendLimits.perMinuteMax) {
        const retryAfterS = Math.max(1, Math.ceil((new Date(recent.latest!).getTime() + 60_000 - now.getTime()) / 1000));
        return errors.rate_limited('A code was sent to this phone less than a minute ago.', 'phone', { retry_after_s: retryAfterS });
      }
      await trx.insertInto('sms_codes').values({
        id, phone, purpose, code_hash: hashOtp({ pepper: this.#pepper, subject: [id, phone, purpose] }, code), expires_at: expiresAt, wrong_tries: 0, consumed_at: null, created_at: now,
      }).execute();
      return undefined;
    });
    if (refusal) throw refusal;
    if (options.accountExists) {
      await this.#sms.send({
        to: phone,
        sender: '小米支付',
        text: '【小米支付】有人尝试用本手机号注册小米账号，但本号码已注册。请直接登录；如非本人操作，请忽略本短信。',
        template: { name: 'account_exists', params: {} },
      });
      return { expiresAt };
    }
    await this.#sms.send({
      to: phone,
      sender: '小米支付',
      text: `【小米支付】验证码${code}，用于${purposeText[purpose]}，5分钟内有效。如非本人操作，请忽略本短信。`,
      template: { name: 'verification_code', params: { code } },
    });
    return { expiresAt };
  }

  /**
   * Uses the newest code sent to `phone` for `purpose`. Runs inside the caller's transaction,
   * so the code is consumed only if the whole operation commits. A wrong try must be counted
   * even though the operation fails: the caller commits and then throws the returned error.
   */
  async consume(trx: Kysely<PlatformTables>, phone: string, purpose: SmsPurpose, code: string, param = 'sms_code'): Promise<{ error?: Error }> {
    const record = await trx
      .selectFrom('sms_codes')
      .selectAll()
      .where('phone', '=', phone)
      .where('purpose', '=', purpose)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
    if (!record) return { error: errors.sms_code_not_requested('No code was sent to this phone for this purpose; ask for one first.', param) };
    const check = checkOtp(record, code, { pepper: this.#pepper, subject: [record.id, record.phone, record.purpose] }, this.#clock());
    switch (check.outcome) {
      case 'ok':
        await trx.updateTable('sms_codes').set({ consumed_at: this.#clock() }).where('id', '=', record.id).execute();
        return {};
      case 'wrong':
      case 'burned':
        if (!record.consumed_at && record.wrong_tries < otpPolicy.wrongTriesMax) {
          await trx.updateTable('sms_codes').set({ wrong_tries: record.wrong_tries + 1 }).where('id', '=', record.id).execute();
        }
        return check.outcome === 'wrong'
          ? { error: errors.sms_code_wrong(`The code is wrong; ${triesLeft(check.triesLeft)}.`, param, { tries_left: check.triesLeft })
            .inChinese(`验证码错误，${triesLeft(check.triesLeft, 'zh')}。`) }
          : { error: errors.sms_code_burned('Too many wrong tries burned this code; ask for a new one.', param) };
      case 'expired':
        return { error: errors.sms_code_expired('The code has expired; ask for a new one.', param) };
      case 'used':
        return { error: errors.sms_code_used('This code was already used; ask for a new one.', param) };
    }
  }
}
