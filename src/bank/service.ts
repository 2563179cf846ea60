import { randomInt } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { transactionWithRetry } from '../infra/db/database.ts';
import { newId } from '../infra/ids.ts';
import { triesLeft } from '../infra/http/validation-message.ts';
import { checkOtp, generateOtp, hashOtp, otpPolicy } from '../infra/otp.ts';
import { maskPhone } from '../infra/validation/phone.ts';
import { isLuhnValid, luhnCheckDigit, maskCardNumber } from '../protocols/luhn.ts';
import type { SmsGateway } from '../sms/client.ts';
import { banks, findBank, findBin, type CardBrand, type CardKind } from './banks.ts';
import { isExpired } from './card-expiry.ts';
import type { BankTables, CardStatus } from './tables.ts';
import {
  BankError,
  type CardLookup,
  type ConfirmVerificationRequest,
  type StartVerificationRequest,
  type StartAgreementVerificationRequest,
  type StartedVerification,
  type TokenizationCardData,
  type VerifiedCard,
} from './client.ts';

export type { BankTables, CardStatus } from './tables.ts';

/** A card's status changed at its bank. */
export interface CardStatusChange { cardNumber: string; bankCode: string; from: CardStatus; to: CardStatus }

export interface IssueCardRequest {
  bankCode: string;
  kind: CardKind;
  brand?: CardBrand;
  holderName: string;
  idNumber: string;
  reservedPhone: string;
  /** Debit cards: the opening balance. */
  balanceFen?: bigint;
  /** Credit cards: the credit limit. */
  creditLimitFen?: bigint;
  /** YYMM; five years from now when absent. */
  expiryYymm?: string;
}

export interface IssuedCard {
  cardNumber: string;
  bankCode: string;
  bankName: string;
  kind: CardKind;
  brand: CardBrand;
  expiryYymm: string;
  status: CardStatus;
}

export interface BankServiceOptions {
  db: Kysely<BankTables>;
  sms: SmsGateway;
  /** The keyring's `bank.otp-pepper`: verification codes are stored keyed by it (infra/otp.ts). */
  otpPepper: Buffer;
  clock?: () => Date;
}

/** Verification SMS per card: at most one a minute and ten an hour, as issuers commonly allow. */
const sendsPerMinuteMax = 1;
const sendsPerHourMax = 10;

/**
 * The issuing banks of the sandbox: card accounts (balance or credit limit, status, expiry),
 * four-element verification with an SMS code to the reserved phone, and quick-pay agreements.
 */
export class BankService {
  readonly #db: Kysely<BankTables>;
  readonly #sms: SmsGateway;
  readonly #clock: () => Date;
  readonly #otpPepper: Buffer;
  readonly #cardStatusListeners: Array<(change: CardStatusChange) => Promise<void>> = [];

  constructor(options: BankServiceOptions) {
    this.#db = options.db;
    this.#sms = options.sms;
    this.#otpPepper = options.otpPepper;
    this.#clock = options.clock ?? (() => new Date());
  }

  async lookupCard(cardNumber: string): Promise<CardLookup | undefined> {
    const found = findBin(cardNumber);
    if (!found) return undefined;
    return {
      bankCode: found.bank.code, bankName: found.bank.nameZh, bankNameEn: found.bank.nameEn,
      kind: found.range.kind, brand: found.range.brand, miPay: found.bank.miPay,
    };
  }

  /** Sandbox: opens a card account for a person and returns its card number. */
  async issueCard(request: IssueCardRequest): Promise<IssuedCard> {
    const bank = findBank(request.bankCode);
    if (!bank) throw new BankError('bad_request', `No sandbox bank has code ${request.bankCode}; known: ${banks.map((b) => b.code).join(', ')}.`, { param: 'bank_code' });
    const brand = request.brand ?? 'unionpay';
    const range = bank.bins.find((r) => r.kind === request.kind && r.brand === brand);
    if (!range) throw new BankError('bad_request', `${bank.nameEn} issues no ${brand} ${request.kind} cards in the sandbox.`, { param: 'kind' });
    const expiryYymm = request.expiryYymm ?? defaultExpiry(this.#clock());
    for (let attempt = 0; attempt < 10; attempt++) {
      let body = range.bin;
      while (body.length < range.panLength - 1) body += String(randomInt(0, 10));
      const cardNumber = body + String(luhnCheckDigit(body));
      const inserted = await this.#db
        .insertInto('card_accounts')
        .values({
          pan: cardNumber, bank_code: bank.code, kind: request.kind, brand, holder_name: request.holderName,
          id_number: request.idNumber.toUpperCase(), reserved_phone: request.reservedPhone,
          balance_fen: request.kind === 'debit' ? request.balanceFen ?? 0n : 0n,
          credit_limit_fen: request.kind === 'credit' ? request.creditLimitFen ?? 5_000_000n : 0n,
          status: 'active', expiry_yymm: expiryYymm, pan_sequence: '01', created_at: this.#clock(), card_ref: newId('bcd'),
        })
        .onConflict((oc) => oc.column('pan').doNothing())
        .returning('pan')
        .executeTakeFirst();
      if (inserted) {
        return { cardNumber, bankCode: bank.code, bankName: bank.nameZh, kind: request.kind, brand, expiryYymm, status: 'active' };
      }
    }
    throw new Error('could not draw an unused card number in 10 tries');
  }

  /** Sandbox: the bank's side of a card's life (reported lost, frozen, closed, reactivated). */
  async setCardStatus(cardNumber: string, status: CardStatus): Promise<void> {
    const before = await this.#db.selectFrom('card_accounts').select('status').where('pan', '=', cardNumber).executeTakeFirst();
    const result = await this.#db.updateTable('card_accounts').set({ status }).where('pan', '=', cardNumber).executeTakeFirst();
    if (!before || result.numUpdatedRows === 0n) throw new BankError('card_not_found', 'This bank has no card with that number.', { param: 'card_number' });
    const bankCode = findBin(cardNumber)?.bank.code;
    // The bank's lifecycle call to the network's TSP (the card's device cards follow it), wired by the cli.
    if (bankCode) for (const listener of this.#cardStatusListeners) await listener({ cardNumber, bankCode, from: before.status, to: status });
  }

  /** Called after each change of a card's status (the TSP suspends, resumes or deletes the card's tokens). */
  onCardStatusChange(listener: (change: CardStatusChange) => Promise<void>): void {
    this.#cardStatusListeners.push(listener);
  }

  /** Sandbox: what a cardholder sees in the bank's app — the card account's balance, limit and status. */
  async cardAccount(cardNumber: string): Promise<{ balanceFen: bigint; creditLimitFen: bigint; kind: CardKind; status: CardStatus }> {
    const card = await this.#db.selectFrom('card_accounts').select(['balance_fen', 'credit_limit_fen', 'kind', 'status']).where('pan', '=', cardNumber).executeTakeFirst();
    if (!card) throw new BankError('card_not_found', 'This bank has no card with that number.', { param: 'card_number' });
    return { balanceFen: card.balance_fen, creditLimitFen: card.credit_limit_fen, kind: card.kind, status: card.status };
  }

  /**
   * Checks the four elements against the card account and texts a code to the reserved phone.
   * Which element does not match is said, so that the applicant can correct it.
   */
  async startVerification(request: StartVerificationRequest): Promise<StartedVerification> {
    if (!isLuhnValid(request.cardNumber)) throw new BankError('bad_request', 'The card number fails the Luhn check.', { param: 'card_number' });
    const issuer = findBin(request.cardNumber);
    if (!issuer) throw new BankError('card_unknown_bin', 'No bank of this network issues cards with this BIN.', { param: 'card_number' });
    return this.#sendVerificationCode(request.cardNumber, request.requester, request.purpose, (card) => {
      if (card.holder_name !== request.holderName.trim()) return new BankError('holder_name_mismatch', 'The name does not match the card holder the bank knows.', { param: 'holder_name' });
      if (card.id_number !== request.idNumber.trim().toUpperCase()) return new BankError('id_number_mismatch', 'The ID number does not match the card holder the bank knows.', { param: 'id_number' });
      if (card.reserved_phone !== request.reservedPhone) return new BankError('reserved_phone_mismatch', 'The phone number is not the one reserved with the bank for this card.', { param: 'reserved_phone' });
      return undefined;
    });
  }

  /**
   * ID&V for a partner that already holds a quick-pay agreement on the card (tokenization): the
   * bank texts a code to the card's reserved phone; the partner never needs the card number.
   */
  async startAgreementVerification(request: StartAgreementVerificationRequest): Promise<StartedVerification> {
    const agreement = await this.#db.selectFrom('agreements').selectAll().where('id', '=', request.agreementId).executeTakeFirst();
    if (!agreement || agreement.revoked_at) throw new BankError('agreement_not_found', 'No live quick-pay agreement with this id.', { param: 'agreement_id' });
    return this.#sendVerificationCode(agreement.pan, request.requester, request.purpose, () => undefined);
  }

  /**
   * The card number, expiry and PAN sequence number behind a live agreement, for a partner's
   * token vault (tokenization). Refused for cards that are not active or have expired.
   */
  async getCardForTokenization(agreementId: string): Promise<TokenizationCardData> {
    const agreement = await this.#db.selectFrom('agreements').selectAll().where('id', '=', agreementId).executeTakeFirst();
    if (!agreement || agreement.revoked_at) throw new BankError('agreement_not_found', 'No live quick-pay agreement with this id.', { param: 'agreement_id' });
    const card = await this.#db.selectFrom('card_accounts').selectAll().where('pan', '=', agreement.pan).executeTakeFirstOrThrow();
    if (card.status !== 'active') throw new BankError('card_not_active', `The card is ${card.status}.`, { param: 'card_number', status: card.status });
    if (isExpired(card.expiry_yymm, this.#clock())) throw new BankError('card_expired', 'The card has expired.', { param: 'card_number' });
    return { pan: card.pan, expiryYymm: card.expiry_yymm, panSequence: card.pan_sequence, cardRef: card.card_ref };
  }

  /** Rate-limits, records and texts a verification code for a card; `check` may refuse the card first. */
  async #sendVerificationCode(cardNumber: string, requester: string, purpose: string, check: (card: BankTables['card_accounts']) => BankError | undefined): Promise<StartedVerification> {
    const now = this.#clock();
    const issuer = findBin(cardNumber);
    if (!issuer) throw new BankError('card_unknown_bin', 'No bank of this network issues cards with this BIN.', { param: 'card_number' });
    const id = newId('ver');
    const code = generateOtp();
    const expiresAt = new Date(now.getTime() + otpPolicy.validityMs);

    const outcome = await transactionWithRetry(this.#db, async (trx) => {
      // Serialises concurrent sends for one card, so the rate limit holds under load.
      await sql`select pg_advisory_xact_lock(hashtext(${`bank-sms:${cardNumber}`}))`.execute(trx);
      const card = await trx.selectFrom('card_accounts').selectAll().where('pan', '=', cardNumber).executeTakeFirst();
      if (!card) return { error: new BankError('card_not_found', `${issuer.bank.nameEn} has no card with this number.`, { param: 'card_number' }) };
      if (card.status !== 'active') return { error: new BankError('card_not_active', `The card is ${card.status}.`, { param: 'card_number', status: card.status }) };
      if (isExpired(card.expiry_yymm, now)) return { error: new BankError('card_expired', 'The card has expired.', { param: 'card_number' }) };
      const refused = check(card);
      if (refused) return { error: refused };
      const recent = await trx
        .selectFrom('verifications')
        .select([
          sql<number>`count(*) filter (where created_at > ${new Date(now.getTime() - 60_000)})::int`.as('last_minute'),
          sql<number>`count(*)::int`.as('last_hour'),
          sql<Date | null>`max(created_at)`.as('latest'),
        ])
        .where('pan', '=', cardNumber)
        .where('created_at', '>', new Date(now.getTime() - 3_600_000))
        .executeTakeFirstOrThrow();
      if (recent.last_minute >= sendsPerMinuteMax || recent.last_hour >= sendsPerHourMax) {
        const retryAfterS = recent.last_hour >= sendsPerHourMax ? 3600 : Math.max(1, Math.ceil((new Date(recent.latest!).getTime() + 60_000 - now.getTime()) / 1000));
        return { error: new BankError('rate_limited', 'A code was sent to this card\'s phone too recently.', { retry_after_s: retryAfterS }) };
      }
      await trx.insertInto('verifications').values({
        id, pan: cardNumber, requester, purpose,
        code_hash: hashOtp({ pepper: this.#otpPepper, subject: [id, cardNumber, purpose] }, code), expires_at: expiresAt, wrong_tries: 0, consumed_at: null, created_at: now,
      }).execute();
      return { phone: card.reserved_phone };
    });
    if ('error' in outcome) throw outcome.error;
    // Sent after the commit: the carrier is another party, never called inside our transaction.
    await this.#sms.send({
      to: outcome.phone,
      sender: issuer.bank.nameZh,
      text: `【${issuer.bank.nameZh}】您的验证码为${code}，用于尾号${cardNumber.slice(-4)}银行卡身份验证，5分钟内有效，请勿泄露。`,
      template: { name: 'bank_verification_code', params: { code, card_last4: cardNumber.slice(-4) } },
    });
    return { verificationId: id, expiresAt, phoneMasked: maskPhone(outcome.phone) };
  }

  /** Checks the code; on success the card is verified once and a quick-pay agreement is made. */
  async confirmVerification(request: ConfirmVerificationRequest): Promise<VerifiedCard> {
    const now = this.#clock();
    const outcome = await transactionWithRetry(this.#db, async (trx) => {
      const verification = await trx.selectFrom('verifications').selectAll().where('id', '=', request.verificationId).forUpdate().executeTakeFirst();
      if (!verification || verification.requester !== request.requester) {
        return { error: new BankError('verification_not_found', 'No verification with this id was started by this requester.', { param: 'verification_id' }) };
      }
      const check = checkOtp(verification, request.code, { pepper: this.#otpPepper, subject: [verification.id, verification.pan, verification.purpose] }, now);
      if (check.outcome === 'wrong' || check.outcome === 'burned') {
        if (!verification.consumed_at && verification.wrong_tries < otpPolicy.wrongTriesMax) {
          // A wrong try is counted even though the request fails: that is what limits guessing.
          await trx.updateTable('verifications').set({ wrong_tries: verification.wrong_tries + 1 }).where('id', '=', verification.id).execute();
        }
        return check.outcome === 'wrong'
          ? { error: new BankError('code_wrong', `The code is wrong; ${triesLeft(check.triesLeft)}.`, { param: 'code', tries_left: check.triesLeft }) }
          : { error: new BankError('code_burned', 'Too many wrong codes; ask for a new one.', { param: 'code' }) };
      }
      if (check.outcome === 'expired') return { error: new BankError('code_expired', 'The code has expired; ask for a new one.', { param: 'code' }) };
      if (check.outcome === 'used') return { error: new BankError('code_used', 'This code was already used.', { param: 'code' }) };
      await trx.updateTable('verifications').set({ consumed_at: now }).where('id', '=', verification.id).execute();
      const card = await trx.selectFrom('card_accounts').selectAll().where('pan', '=', verification.pan).executeTakeFirstOrThrow();
      const agreementId = newId('agr');
      await trx.insertInto('agreements').values({
        id: agreementId, pan: card.pan, requester: request.requester, verification_id: verification.id, created_at: now, revoked_at: null,
      }).execute();
      const bank = findBank(card.bank_code)!;
      const verified: VerifiedCard = {
        agreementId, cardRef: card.card_ref, bankCode: bank.code, bankName: bank.nameZh, kind: card.kind, brand: card.brand,
        last4: card.pan.slice(-4), maskedNumber: maskCardNumber(card.pan), holderName: card.holder_name,
        idNumber: card.id_number, reservedPhone: card.reserved_phone, purpose: verification.purpose as VerifiedCard['purpose'],
      };
      return { verified };
    });
    if ('error' in outcome) throw outcome.error;
    return outcome.verified;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }
}

function defaultExpiry(now: Date): string {
  const year = (now.getUTCFullYear() + 5) % 100;
  return `${String(year).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}
