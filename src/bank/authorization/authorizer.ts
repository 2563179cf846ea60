import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import type { Logger } from '../../infra/log/logger.ts';
import { decryptPinBlock, CryptoInputError } from '../../protocols/crypto/index.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { responseMti } from '../../protocols/iso8583/spec.ts';
import { findBin } from '../banks.ts';
import { checkArqc, issuerAuthenticationData, type ChipCheck } from './chip.ts';
import { cardMasterKeyAc, cryptogramVersionOf, pinMatches, type IssuerKeyStore, type IssuerKeys } from './issuer-keys.ts';
import { buildResponse, FormatError, messageKey, parseIssuerRequest, UnsupportedError, type IssuerRequest } from './request.ts';
import { ResponseCode } from './response-codes.ts';
import type { AuthorizationTables } from './tables.ts';

/** How far ahead of the last seen ATC a card may be (taps that never reached the bank). */
export const atcForwardWindowMax = 32;
export const pinTriesMax = 3;

type Db = Kysely<AuthorizationTables>;
type MessageRow = AuthorizationTables['authorization_messages'];
type Outcome = { responseCode: string; reason: string | null; authCode: string | null; icc: Buffer | null };

/**
 * The issuer's authorization host for every sandbox bank: answers 0100 (hold), 0200 (purchase
 * debits, refund credits) and 0400 (reversal) from the network. Each request is one database
 * transaction holding the card's row lock, and every answer is stored under the request's
 * identity (MTI, acquirer, STAN, transmission time) so a duplicate gets the first answer and
 * money moves exactly once.
 */
export class IssuerAuthorizer {
  readonly #db: Db;
  readonly #keys: IssuerKeyStore;
  readonly #clock: () => Date;
  readonly #logger: Logger;

  constructor(options: { db: Db; keys: IssuerKeyStore; logger: Logger; clock?: () => Date }) {
    this.#db = options.db;
    this.#keys = options.keys;
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
  }

  async handle(message: Iso8583Message): Promise<Iso8583Message> {
    if (message.mti === '0800') return { mti: responseMti('0800'), fields: { ...message.fields, 39: ResponseCode.APPROVED } };
    let request: IssuerRequest;
    try {
      request = parseIssuerRequest(message);
    } catch (error) {
      if (error instanceof FormatError) return buildResponse(message, { responseCode: ResponseCode.FORMAT_ERROR, reason: 'FORMAT' });
      if (error instanceof UnsupportedError) return buildResponse(message, { responseCode: ResponseCode.INVALID_TRANSACTION });
      throw error;
    }
    const key = messageKey(request.mti, request.acquirerId, request.stan, request.transmission);
    try {
      const outcome = await transactionWithRetry(this.#db, (trx) =>
        request.kind === 'reversal' ? this.#reverse(trx, request, key) : this.#authorize(trx, request, key));
      return buildResponse(message, outcome);
    } catch (error) {
      // Two copies of one request raced past the duplicate check: the loser answers with the winner's answer.
      if ((error as { code?: string }).code === '23505') {
        const stored = await this.#db.selectFrom('authorization_messages').selectAll().where('message_key', '=', key).executeTakeFirst();
        if (stored) return buildResponse(message, storedOutcome(stored));
      }
      this.#logger.error({ err: error, mti: request.mti, stan: request.stan }, 'authorization failed');
      return buildResponse(message, { responseCode: ResponseCode.SYSTEM_MALFUNCTION });
    }
  }

  async #authorize(trx: Db, request: IssuerRequest, key: string): Promise<Outcome> {
    const now = this.#clock();
    const card = await trx.selectFrom('card_accounts').selectAll().where('pan', '=', request.pan).forUpdate().executeTakeFirst();
    const duplicate = await trx.selectFrom('authorization_messages').selectAll().where('message_key', '=', key).executeTakeFirst();
    if (duplicate) return storedOutcome(duplicate);
    const row: Omit<MessageRow, 'id'> = {
      message_key: key, kind: request.kind, pan: card ? request.pan : null, amount_fen: request.amountFen, rrn: request.rrn ?? null,
      terminal_id: request.terminalId, response_code: ResponseCode.APPROVED, decline_reason: null, auth_code: null, response_icc_hex: null,
      held_fen: 0n, balance_delta_fen: 0n, refunded_fen: 0n, original_rrn: request.originalRrn ?? null, reversed_at: null, created_at: now,
    };
    const finish = async (responseCode: string, reason: string | null, chip?: { keys: IssuerKeys; check: ChipCheck }): Promise<Outcome> => {
      row.response_code = responseCode;
      row.decline_reason = reason;
      if (responseCode === ResponseCode.APPROVED) row.auth_code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const icc = chip?.check.ok ? issuerAuthenticationData(chip.keys.acAlgorithm, chip.check, responseCode) : null;
      row.response_icc_hex = icc ? icc.toString('hex') : null;
      await trx.insertInto('authorization_messages').values(row).execute();
      return storedOutcome(row);
    };

    const issuer = findBin(request.pan);
    if (!card || !issuer) return finish(ResponseCode.INVALID_CARD_NUMBER, 'NO_CARD');
    if (request.amountFen <= 0n) return finish(ResponseCode.INVALID_AMOUNT, 'AMOUNT');
    if (card.status === 'closed') return finish(ResponseCode.INVALID_CARD_NUMBER, 'CLOSED');
    if (request.kind !== 'refund') {
      if (card.status === 'lost') return finish(ResponseCode.LOST_CARD, 'LOST');
      if (card.status === 'frozen') return finish(ResponseCode.NOT_PERMITTED, 'FROZEN');
      if (isExpired(card.expiry_yymm, now)) return finish(ResponseCode.EXPIRED_CARD, 'EXPIRED');
    }
    await trx.insertInto('card_authorization_state').values({ pan: request.pan, last_atc: 0, pin_verification_value: null, pin_wrong_tries: 0, held_fen: 0n })
      .onConflict((oc) => oc.column('pan').doNothing()).execute();
    const state = await trx.selectFrom('card_authorization_state').selectAll().where('pan', '=', request.pan).executeTakeFirstOrThrow();
    const keys = await this.#keys.keysFor(issuer.bank.code);

    let chip: { keys: IssuerKeys; check: ChipCheck } | undefined;
    if (request.icc) {
      const check = checkArqc({
        icc: request.icc, algorithm: keys.acAlgorithm, cryptogramVersion: cryptogramVersionOf[keys.acAlgorithm],
        cardMasterKey: cardMasterKeyAc(keys, request.pan, card.pan_sequence), amountFen: request.amountFen,
      });
      if (!check.ok) return finish(ResponseCode.DO_NOT_HONOUR, check.reason === 'FORMAT' ? 'ICC_FORMAT' : check.reason);
      // A replayed or far-future ATC is refused even with a valid cryptogram: it was generated before, or skipped ahead.
      if (check.atc <= state.last_atc || check.atc > state.last_atc + atcForwardWindowMax) return finish(ResponseCode.DO_NOT_HONOUR, 'ATC');
      state.last_atc = check.atc;
      chip = { keys, check };
    } else if (request.entryMode.startsWith('07') && !request.verifiedByTokenService) {
      return finish(ResponseCode.FORMAT_ERROR, 'NO_ICC');
    }

    const decide = async (): Promise<Outcome> => {
      if (request.pinBlock && request.kind !== 'refund') {
        if (state.pin_wrong_tries >= pinTriesMax) return finish(ResponseCode.PIN_TRIES_EXCEEDED, 'PIN_TRIES');
        let pin: string | undefined;
        try {
          pin = decryptPinBlock('tdes', keys.zonePinKey, request.pinBlock, request.pan);
        } catch (error) {
          if (!(error instanceof CryptoInputError)) throw error;
        }
        if (!pin || !state.pin_verification_value || !pinMatches(keys, request.pan, pin, state.pin_verification_value)) {
          state.pin_wrong_tries += 1;
          return state.pin_wrong_tries >= pinTriesMax ? finish(ResponseCode.PIN_TRIES_EXCEEDED, 'PIN_TRIES') : finish(ResponseCode.INCORRECT_PIN, 'PIN');
        }
        state.pin_wrong_tries = 0;
      }
      if (request.kind === 'refund') return this.#refund(trx, request, row, finish, chip);
      const availableFen = card.balance_fen + card.credit_limit_fen - state.held_fen;
      if (request.amountFen > availableFen) return finish(ResponseCode.INSUFFICIENT_FUNDS, 'FUNDS');
      if (request.kind === 'authorization') {
        state.held_fen += request.amountFen;
        row.held_fen = request.amountFen;
      } else {
        await trx.updateTable('card_accounts').set({ balance_fen: card.balance_fen - request.amountFen }).where('pan', '=', request.pan).execute();
        row.balance_delta_fen = -request.amountFen;
      }
      return finish(ResponseCode.APPROVED, null, chip);
    };
    const outcome = await decide();
    await trx.updateTable('card_authorization_state')
      .set({ last_atc: state.last_atc, pin_wrong_tries: state.pin_wrong_tries, held_fen: state.held_fen })
      .where('pan', '=', request.pan).execute();
    return outcome;
  }

  async #refund(
    trx: Db, request: IssuerRequest, row: Omit<MessageRow, 'id'>,
    finish: (code: string, reason: string | null, chip?: { keys: IssuerKeys; check: ChipCheck }) => Promise<Outcome>,
    chip: { keys: IssuerKeys; check: ChipCheck } | undefined,
  ): Promise<Outcome> {
    const original = await trx.selectFrom('authorization_messages').selectAll()
      .where('rrn', '=', request.originalRrn!).where('pan', '=', request.pan).where('kind', '=', 'purchase')
      .where('response_code', '=', ResponseCode.APPROVED).where('reversed_at', 'is', null).forUpdate().executeTakeFirst();
    if (!original) return finish(ResponseCode.ORIGINAL_NOT_FOUND, 'NO_ORIGINAL', chip);
    if (request.amountFen > original.amount_fen - original.refunded_fen) return finish(ResponseCode.INVALID_AMOUNT, 'OVER_REFUND', chip);
    await trx.updateTable('authorization_messages').set({ refunded_fen: original.refunded_fen + request.amountFen }).where('id', '=', original.id).execute();
    const card = await trx.selectFrom('card_accounts').select('balance_fen').where('pan', '=', request.pan).executeTakeFirstOrThrow();
    await trx.updateTable('card_accounts').set({ balance_fen: card.balance_fen + request.amountFen }).where('pan', '=', request.pan).execute();
    row.balance_delta_fen = request.amountFen;
    return finish(ResponseCode.APPROVED, null, chip);
  }

  /**
   * 0400: undoes what the original did, once. An original the bank never saw is remembered
   * as reversed, so that if it arrives late it is refused rather than debited.
   */
  async #reverse(trx: Db, request: IssuerRequest, key: string): Promise<Outcome> {
    const now = this.#clock();
    const originalKey = request.originalKey!;
    // Lock order as in #authorize: the card row first, then the message rows.
    await trx.selectFrom('card_accounts').select('pan').where('pan', '=', request.pan).forUpdate().executeTakeFirst();
    const duplicate = await trx.selectFrom('authorization_messages').selectAll().where('message_key', '=', key).executeTakeFirst();
    if (duplicate) return storedOutcome(duplicate);
    const record = async (reason: string | null) => {
      await trx.insertInto('authorization_messages').values({
        message_key: key, kind: 'reversal', pan: request.pan, amount_fen: request.amountFen, rrn: request.rrn ?? null, terminal_id: request.terminalId,
        response_code: ResponseCode.APPROVED, decline_reason: reason, auth_code: null, response_icc_hex: null, held_fen: 0n, balance_delta_fen: 0n,
        refunded_fen: 0n, original_rrn: null, reversed_at: null, created_at: now,
      }).execute();
      return { responseCode: ResponseCode.APPROVED, reason, authCode: null, icc: null };
    };
    const original = await trx.selectFrom('authorization_messages').selectAll().where('message_key', '=', originalKey).forUpdate().executeTakeFirst();
    if (!original) {
      await trx.insertInto('authorization_messages').values({
        message_key: originalKey, kind: 'reversed_before_arrival', pan: request.pan, amount_fen: request.amountFen, rrn: request.rrn ?? null,
        terminal_id: request.terminalId, response_code: ResponseCode.DO_NOT_HONOUR, decline_reason: 'REVERSED', auth_code: null, response_icc_hex: null,
        held_fen: 0n, balance_delta_fen: 0n, refunded_fen: 0n, original_rrn: null, reversed_at: now, created_at: now,
      }).execute();
      return record('NO_ORIGINAL');
    }
    if (original.reversed_at !== null || original.response_code !== ResponseCode.APPROVED || original.pan !== request.pan) return record('NOTHING_TO_REVERSE');
    await trx.updateTable('authorization_messages').set({ reversed_at: now }).where('id', '=', original.id).execute();
    if (original.held_fen !== 0n) {
      const state = await trx.selectFrom('card_authorization_state').select('held_fen').where('pan', '=', request.pan).executeTakeFirstOrThrow();
      await trx.updateTable('card_authorization_state').set({ held_fen: state.held_fen - original.held_fen }).where('pan', '=', request.pan).execute();
    }
    if (original.balance_delta_fen !== 0n) {
      const card = await trx.selectFrom('card_accounts').select('balance_fen').where('pan', '=', request.pan).executeTakeFirstOrThrow();
      await trx.updateTable('card_accounts').set({ balance_fen: card.balance_fen - original.balance_delta_fen }).where('pan', '=', request.pan).execute();
    }
    if (original.kind === 'refund' && original.original_rrn) {
      const purchase = await trx.selectFrom('authorization_messages').select(['id', 'refunded_fen']).where('rrn', '=', original.original_rrn)
        .where('pan', '=', request.pan).where('kind', '=', 'purchase').executeTakeFirst();
      if (purchase) await trx.updateTable('authorization_messages').set({ refunded_fen: purchase.refunded_fen - original.amount_fen }).where('id', '=', purchase.id).execute();
    }
    return record(null);
  }
}

function storedOutcome(row: Pick<MessageRow, 'response_code' | 'decline_reason' | 'auth_code' | 'response_icc_hex'>): Outcome {
  return {
    responseCode: row.response_code, reason: row.decline_reason, authCode: row.auth_code,
    icc: row.response_icc_hex ? Buffer.from(row.response_icc_hex, 'hex') : null,
  };
}

/** A card is valid through the last day of its expiry month (ISO/IEC 7813). */
function isExpired(expiryYymm: string, now: Date): boolean {
  const year = 2000 + Number(expiryYymm.slice(0, 2));
  const month = Number(expiryYymm.slice(2, 4));
  return now.getTime() >= Date.UTC(year, month, 1);
}
