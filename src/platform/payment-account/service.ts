import type { Kysely } from 'kysely';
import type { BankClient, VerifiedCard } from '../../bank/client.ts';
import { callBank } from '../bank-refusal.ts';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import { triesLeft } from '../../infra/http/validation-message.ts';
import { parseResidentId } from '../../protocols/resident-id.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import { errors } from '../errors.ts';
import { lockStateOf, recordFailure, recordSuccess, type Lockout } from '../lockout.ts';
import { recordBoundCard } from '../cards/bound-cards.ts';
import { hashPassword, verifyPassword } from '../passwords.ts';
import type { PlatformTables } from '../tables.ts';
import { classForChannels, effectiveClass, type AccountClass } from './classes.ts';
import { maskIdNumber, requireAdultResidentId, requireStrongPaymentPassword, requireValidCardNumber } from './identity.ts';
import type { PersonalDataVault } from './personal-data.ts';

export type PaymentAccountRow = PlatformTables['payment_accounts'];
export type ChannelRow = PlatformTables['payment_account_channels'];

/** Five wrong payment passwords lock payment for three hours (DESIGN section 3). */
export const paymentPasswordLockout: Lockout = {
  table: 'payment_accounts', failedColumn: 'password_failed_count', lockedUntilColumn: 'password_locked_until', triesMax: 5, lockMs: 3 * 3_600_000,
};

/** Five failed resets (wrong ID number or code, counted together) lock resetting for a day. */
export const passwordResetLockout: Lockout = {
  table: 'payment_accounts', failedColumn: 'reset_failed_count', lockedUntilColumn: 'reset_locked_until', triesMax: 5, lockMs: 24 * 3_600_000,
};

export interface AmlData {
  gender: 'male' | 'female';
  occupation: string;
  nationality: string;
  idType: 'resident_id';
  /** YYYY-MM-DD, or 'long_term' for an ID valid without end (长期). */
  idExpiry: string;
  idPhoto: { contentType: 'image/jpeg' | 'image/png'; data: Buffer };
  address: string;
}

export interface PaymentAccountView {
  account: PaymentAccountRow;
  channels: ChannelRow[];
  classByChannels: AccountClass | undefined;
  effectiveClass: AccountClass;
  amlComplete: boolean;
}

/**
 * The real-name payment account (支付账户): opened after the bank verifies the four elements,
 * classed by verification channels, with AML supplementary data and a payment password.
 */
export class PaymentAccountService {
  readonly #db: Kysely<PlatformTables>;
  readonly #bank: BankClient;
  readonly #codes: SmsCodes;
  readonly #personalData: PersonalDataVault;
  readonly #clock: () => Date;

  constructor(options: { db: Kysely<PlatformTables>; bank: BankClient; codes: SmsCodes; personalData: PersonalDataVault; clock: () => Date }) {
    this.#db = options.db;
    this.#bank = options.bank;
    this.#codes = options.codes;
    this.#personalData = options.personalData;
    this.#clock = options.clock;
  }

  /** The holder's ID number, opened from its seal: only to send to a bank that verifies a card in the holder's name, or to check AML data against it. */
  idNumberOf(account: PaymentAccountRow): string {
    return this.#personalData.open(account.id, 'id_number', account.id_number_sealed).toString('utf8');
  }

  /**
   * Seals what an older version kept in clear (ID numbers, ID photos, addresses) and empties the
   * clear-text columns. Runs at start; does nothing once every row is sealed.
   */
  async sealClearTextPersonalData(): Promise<number> {
    const rows = await this.#db.selectFrom('payment_accounts').select(['id', 'id_number', 'aml_id_photo', 'aml_address'])
      .where((eb) => eb.or([eb('id_number', 'is not', null), eb('aml_id_photo', 'is not', null), eb('aml_address', 'is not', null)]))
      .execute();
    for (const row of rows) {
      await this.#db.updateTable('payment_accounts').set({
        ...(row.id_number !== null ? {
          id_number_sealed: this.#personalData.seal(row.id, 'id_number', Buffer.from(row.id_number)),
          id_number_fingerprint: this.#personalData.idNumberFingerprint(row.id_number), id_number_masked: maskIdNumber(row.id_number),
        } : {}),
        ...(row.aml_id_photo !== null ? { aml_id_photo_sealed: this.#personalData.seal(row.id, 'aml_id_photo', Buffer.from(row.aml_id_photo)) } : {}),
        ...(row.aml_address !== null ? { aml_address_sealed: this.#personalData.seal(row.id, 'aml_address', Buffer.from(row.aml_address)) } : {}),
        id_number: null, aml_id_photo: null, aml_address: null,
      }).where('id', '=', row.id).execute();
    }
    return rows.length;
  }

  async findByUser(userId: string): Promise<PaymentAccountRow | undefined> {
    return this.#db.selectFrom('payment_accounts').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async requireByUser(userId: string): Promise<PaymentAccountRow> {
    const account = await this.findByUser(userId);
    if (!account) throw errors.payment_account_not_found('Open a payment account first.');
    return account;
  }

  /**
   * Step 1 of opening: checks the applicant locally (ID number, age, card number), then asks the
   * issuing bank to verify the four elements and text a code to the reserved phone. A minor is
   * refused before anything leaves the platform, and nothing about them is written.
   */
  async apply(input: { userId: string; name: string; idNumber: string; cardNumber: string; reservedPhone: string }) {
    const id = requireAdultResidentId(input.idNumber, this.#clock());
    requireValidCardNumber(input.cardNumber);
    if (await this.findByUser(input.userId)) throw errors.payment_account_exists('This Mi account already has a payment account.');
    if (await this.#db.selectFrom('payment_accounts').select('id').where('id_number_fingerprint', '=', this.#personalData.idNumberFingerprint(id.number)).executeTakeFirst()) {
      throw errors.identity_already_registered('A payment account with this ID number already exists on another Mi account.', 'id_number');
    }
    const issuer = await callBank(() => this.#bank.lookupCard(input.cardNumber));
    if (!issuer) throw errors.card_bin_unknown('No supported bank issues cards with this BIN.', 'card_number');
    const started = await callBank(() => this.#bank.startVerification({
      cardNumber: input.cardNumber, holderName: input.name.trim(), idNumber: id.number, reservedPhone: input.reservedPhone,
      requester: input.userId, purpose: 'payment_account',
    }));
    return { ...started, bankName: issuer.bankName };
  }

  /** Step 2: the SMS code confirms the bank's verification, and the account opens as Class I. */
  async open(input: { userId: string; verificationId: string; smsCode: string; paymentPassword: string }): Promise<PaymentAccountRow> {
    requireStrongPaymentPassword(input.paymentPassword);
    if (await this.findByUser(input.userId)) throw errors.payment_account_exists('This Mi account already has a payment account.');
    const passwordHash = await hashPassword(input.paymentPassword);
    const verified = await callBank(() => this.#bank.confirmVerification({ verificationId: input.verificationId, code: input.smsCode, requester: input.userId }));
    if (verified.purpose !== 'payment_account') throw errors.verification_not_found('This verification was not started to open a payment account.', 'verification_id');
    const now = this.#clock();
    const identity = requireAdultResidentId(verified.idNumber, now);
    const id = newId('pa');
    const account: PaymentAccountRow = {
      id, user_id: input.userId, holder_name: verified.holderName, id_number: null,
      id_number_sealed: this.#personalData.seal(id, 'id_number', Buffer.from(identity.number)),
      id_number_fingerprint: this.#personalData.idNumberFingerprint(identity.number), id_number_masked: maskIdNumber(identity.number),
      birth_date: identity.birthDate,
      status: 'active', password_hash: passwordHash, password_failed_count: 0, password_locked_until: null, opened_at: now,
      reset_failed_count: 0, reset_locked_until: null,
      aml_gender: null, aml_occupation: null, aml_nationality: null, aml_id_type: null, aml_id_expiry: null, aml_id_photo: null,
      aml_id_photo_type: null, aml_address: null, aml_completed_at: null, aml_id_photo_sealed: null, aml_address_sealed: null,
    };
    try {
      await transactionWithRetry(this.#db, async (trx) => {
        await trx.insertInto('payment_accounts').values(account).execute();
        await trx.insertInto('payment_account_channels').values(channelRow(account.id, verified, now)).execute();
        // The card that verified the holder is bound for quick pay too, as wallets do.
        await recordBoundCard(trx, { userId: input.userId, accountId: account.id, verified, now });
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        const constraint = String((error as { constraint?: string }).constraint ?? (error as Error).message);
        if (constraint.includes('id_number')) throw errors.identity_already_registered('A payment account with this ID number already exists on another Mi account.', 'id_number');
        throw errors.payment_account_exists('This Mi account already has a payment account.');
      }
      throw error;
    }
    return account;
  }

  async view(userId: string): Promise<PaymentAccountView> {
    return this.viewAccount(this.#db, await this.requireByUser(userId));
  }

  /** The account's class and channels, read through `db` (a caller's transaction, when it holds the account's lock). */
  async viewAccount(db: Kysely<PlatformTables>, account: PaymentAccountRow): Promise<PaymentAccountView> {
    const channels = await db.selectFrom('payment_account_channels').selectAll().where('account_id', '=', account.id).orderBy('verified_at').execute();
    const amlComplete = account.aml_completed_at !== null;
    return { account, channels, classByChannels: classForChannels(channels.length), effectiveClass: effectiveClass(channels.length, amlComplete), amlComplete };
  }

  /** Upgrade step 1: a card of another bank, in the holder's own name, is verified by that bank. */
  async applyChannel(input: { userId: string; cardNumber: string; reservedPhone: string }) {
    requireValidCardNumber(input.cardNumber);
    const account = await this.requireByUser(input.userId);
    const issuer = await callBank(() => this.#bank.lookupCard(input.cardNumber));
    if (!issuer) throw errors.card_bin_unknown('No supported bank issues cards with this BIN.', 'card_number');
    await this.#requireNewChannel(account.id, issuer.bankCode);
    const started = await callBank(() => this.#bank.startVerification({
      cardNumber: input.cardNumber, holderName: account.holder_name, idNumber: this.idNumberOf(account), reservedPhone: input.reservedPhone,
      requester: input.userId, purpose: 'verification_channel',
    }));
    return { ...started, bankName: issuer.bankName };
  }

  /** Upgrade step 2: the code confirms the card and the bank becomes one more verification channel. */
  async addChannel(input: { userId: string; verificationId: string; smsCode: string }): Promise<PaymentAccountView> {
    const account = await this.requireByUser(input.userId);
    const verified = await callBank(() => this.#bank.confirmVerification({ verificationId: input.verificationId, code: input.smsCode, requester: input.userId }));
    if (verified.purpose !== 'verification_channel') throw errors.verification_not_found('This verification was not started to add a verification channel.', 'verification_id');
    // The bank checked the name and ID number the platform sent, which are the holder's own.
    if (!this.#personalData.matchesIdNumber(account.id_number_fingerprint, verified.idNumber)) throw errors.identity_mismatch('The card belongs to someone else.', 'card_number');
    await this.#requireNewChannel(account.id, verified.bankCode);
    const now = this.#clock();
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto('payment_account_channels').values(channelRow(account.id, verified, now))
        .onConflict((oc) => oc.constraint('payment_account_channels_unique').doNothing()).execute();
      const alreadyBound = await trx.selectFrom('bound_cards').select('id').where('user_id', '=', input.userId)
        .where('card_ref', '=', verified.cardRef).where('status', '=', 'active').executeTakeFirst();
      if (!alreadyBound) await recordBoundCard(trx, { userId: input.userId, accountId: account.id, verified, now });
    });
    return this.view(input.userId);
  }

  async #requireNewChannel(accountId: string, bankCode: string): Promise<void> {
    const existing = await this.#db.selectFrom('payment_account_channels').select('id')
      .where('account_id', '=', accountId).where('channel', '=', `bank:${bankCode}`).executeTakeFirst();
    if (existing) throw errors.channel_already_verified('A card of this bank already verifies this account; use a card of another bank.', 'card_number');
  }

  /** AML supplementary data (PBOC No. 43 Art. 10): checked against the ID number, then recorded. */
  async setAmlData(userId: string, data: AmlData): Promise<PaymentAccountView> {
    const account = await this.requireByUser(userId);
    const now = this.#clock();
    const identity = parseResidentId(this.idNumberOf(account), now);
    if (identity.ok && identity.id.gender !== data.gender) {
      throw errors.parameter_invalid('The gender does not match the one encoded in the holder\'s ID number.', 'gender');
    }
    if (data.idExpiry !== 'long_term' && Date.parse(`${data.idExpiry}T23:59:59+08:00`) < now.getTime()) {
      throw errors.parameter_invalid('The ID document has expired; renew it before completing the account data.', 'id_expiry');
    }
    await this.#db.updateTable('payment_accounts').set({
      aml_gender: data.gender, aml_occupation: data.occupation, aml_nationality: data.nationality, aml_id_type: data.idType,
      aml_id_expiry: data.idExpiry, aml_id_photo_sealed: this.#personalData.seal(account.id, 'aml_id_photo', data.idPhoto.data),
      aml_id_photo_type: data.idPhoto.contentType, aml_address_sealed: this.#personalData.seal(account.id, 'aml_address', Buffer.from(data.address)),
      aml_completed_at: now,
    }).where('id', '=', account.id).execute();
    return this.view(userId);
  }

  /**
   * Checks the payment password. Five wrong tries lock payment for three hours; during the lock
   * every try is refused without being counted or compared.
   */
  async verifyPaymentPassword(userId: string, password: string): Promise<void> {
    const account = await this.requireByUser(userId);
    const now = this.#clock();
    const lock = lockStateOf({ failed: account.password_failed_count, lockedUntil: account.password_locked_until }, now);
    if (lock.locked) throw lockedError(lock.lockedUntil);
    if (!(await verifyPassword(account.password_hash, password))) {
      const after = await recordFailure(this.#db, paymentPasswordLockout, account.id, now);
      if (after.locked) throw lockedError(after.lockedUntil);
      throw errors.payment_password_wrong(`The payment password is wrong; ${triesLeft(after.triesLeft)} before payment is locked for 3 hours.`, 'payment_password', { tries_left: after.triesLeft })
        .inChinese(`支付密码错误，${triesLeft(after.triesLeft, 'zh')}，用完后支付将锁定 3 小时。`);
    }
    if (!(await recordSuccess(this.#db, paymentPasswordLockout, account.id, now))) {
      const current = await this.requireByUser(userId);
      throw lockedError(current.password_locked_until ?? now);
    }
  }

  /**
   * Changes the payment password with the old one: a wrong old one counts toward the payment
   * lock like any other try, so this cannot be used to guess past it.
   */
  async changePaymentPassword(userId: string, oldPassword: string, newPassword: string): Promise<void> {
    requireStrongPaymentPassword(newPassword, 'new_payment_password');
    if (newPassword === oldPassword) throw errors.parameter_invalid('The new payment password is the old one.', 'new_payment_password');
    await this.verifyPaymentPassword(userId, oldPassword);
    const account = await this.requireByUser(userId);
    await this.#db.updateTable('payment_accounts').set({ password_hash: await hashPassword(newPassword) }).where('id', '=', account.id).execute();
  }

  /**
   * Reset with an SMS code to the account's phone and the holder's ID number; lifts the payment
   * lock. Both are checked on every try and a failure says not which was wrong: a right code is
   * spent even when the ID number is wrong, so one code cannot test many ID numbers, and each
   * failure counts toward a 24-hour reset lock.
   */
  async resetPaymentPassword(input: { userId: string; phone: string; smsCode: string; idNumber: string; newPassword: string }): Promise<void> {
    requireStrongPaymentPassword(input.newPassword, 'new_payment_password');
    const account = await this.requireByUser(input.userId);
    const now = this.#clock();
    const resetLocked = (until: Date) => errors.password_reset_locked('Too many failed resets; resetting the payment password is locked for 24 hours.', 'sms_code', { locked_until: until.toISOString() });
    const lock = lockStateOf({ failed: account.reset_failed_count, lockedUntil: account.reset_locked_until }, now);
    if (lock.locked) throw resetLocked(lock.lockedUntil);
    const passwordHash = await hashPassword(input.newPassword);
    const outcome = await transactionWithRetry(this.#db, async (trx) => {
      const idMatches = this.#personalData.matchesIdNumber(account.id_number_fingerprint, input.idNumber);
      const consumed = await this.#codes.consume(trx, input.phone, 'payment_password_reset', input.smsCode);
      if (!idMatches || consumed.error) {
        const after = await recordFailure(trx, passwordResetLockout, account.id, now);
        if (after.locked) return { error: resetLocked(after.lockedUntil) };
        return { error: errors.password_reset_failed(`The ID number or the SMS code is wrong; ${after.triesLeft} tries left before resetting is locked for 24 hours.`, undefined, { tries_left: after.triesLeft }) };
      }
      if (!(await recordSuccess(trx, passwordResetLockout, account.id, now))) return { error: resetLocked(now) };
      await trx.updateTable('payment_accounts')
        .set({ password_hash: passwordHash, password_failed_count: 0, password_locked_until: null })
        .where('id', '=', account.id).execute();
      return {};
    });
    if (outcome.error) throw outcome.error;
  }
}

function lockedError(lockedUntil: Date): Error {
  return errors.payment_password_locked('Payment is locked for 3 hours after 5 wrong payment passwords; reset the password to unlock now.', 'payment_password', { locked_until: lockedUntil.toISOString() });
}

function channelRow(accountId: string, verified: VerifiedCard, now: Date): ChannelRow {
  return {
    id: newId('pch'), account_id: accountId, channel: `bank:${verified.bankCode}`, bank_code: verified.bankCode, bank_name: verified.bankName,
    card_kind: verified.kind, card_last4: verified.last4, agreement_id: verified.agreementId, verified_at: now,
  };
}
