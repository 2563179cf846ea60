import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isRetryableTransactionError, transactionWithRetry } from '../../infra/db/database.ts';
import type { Logger } from '../../infra/log/logger.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { responseMti } from '../../protocols/iso8583/spec.ts';
import { findBin } from '../banks.ts';
import { issuerAuthenticationData } from '../../protocols/emv/online-cryptogram.ts';
import type { CardVerificationKeys } from './card-verification.ts';
import { FastPathStatements, type SnapshotRow } from './fast-path.ts';
import { decide, type CardSnapshot, type Decision } from './decision.ts';
import type { IssuerKeyStore, IssuerKeys } from './issuer-keys.ts';
import { buildResponse, FormatError, messageKey, parseIssuerRequest, UnsupportedError, type IssuerRequest } from './request.ts';
import { ResponseCode } from '../../protocols/iso8583/response-codes.ts';
import type { AuthorizationTables } from './tables.ts';

type Db = Kysely<AuthorizationTables>;
type MessageRow = AuthorizationTables['authorization_messages'];
type Outcome = { responseCode: string; reason: string | null; authCode: string | null; icc: Buffer | null };

/** A completion may take up to 115% of the authorization it completes (UnionPay). */
const completionPercentMax = 115n;
/** Optimistic attempts before a request takes the locked path. */
const fastPathAttemptsMax = 3;
/** Cards whose last known state is kept (least recently used dropped first). */
const cardCacheSizeMax = 100_000;

/**
 * The issuer's authorization host for every sandbox bank: answers 0100 (hold), 0200 (purchase
 * debits, refund credits, pre-authorization completions turning a hold into a debit) and 0400
 * (reversal) from the network. Every answer is stored under
 * the request's identity (MTI, acquirer, STAN, transmission time) so a duplicate gets the first
 * answer and money moves exactly once.
 *
 * Authorizations and purchases take a fast path: read the card, decide, then write everything
 * in one statement guarded by the values read — if another request changed the card meanwhile
 * the statement writes nothing and the request is decided again. Concurrent requests share
 * those statements (fast-path.ts). Refunds, and any
 * request that loses that race three times, take the locked path: one transaction holding the
 * card's row lock. Both apply the same `decide`.
 *
 * The fast path remembers each card as its last guarded write left it, so a card's next
 * request is decided without reading it first. That copy is only ever a guess: the guard
 * compares every value `decide` looked at with the row under lock, so if anything changed the
 * card (a top-up, a reversal, a status change, another process) the write does nothing, the
 * copy is dropped and the request is decided again from a fresh read.
 */
export class IssuerAuthorizer {
  readonly #db: Db;
  readonly #keys: IssuerKeyStore;
  readonly #clock: () => Date;
  readonly #logger: Logger;
  readonly #fast: FastPathStatements;
  readonly #cards = new Map<string, CardSnapshot>();
  readonly #cvks: CardVerificationKeys;

  constructor(options: { db: Db; keys: IssuerKeyStore; cardVerificationKeys?: CardVerificationKeys; logger: Logger; clock?: () => Date; schema?: string }) {
    this.#db = options.db;
    this.#cvks = options.cardVerificationKeys ?? new Map();
    this.#keys = options.keys;
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
    this.#fast = new FastPathStatements(options.db, options.schema ?? 'bank');
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
      if (request.kind === 'authorization' || request.kind === 'purchase') {
        for (let attempt = 0; attempt < fastPathAttemptsMax; attempt++) {
          const outcome = await this.#authorizeOptimistically(request, key);
          if (outcome === 'locked_path') break;
          if (outcome !== 'changed') return buildResponse(message, outcome);
        }
      }
      // Keys are read before the transaction: on PGlite nothing else may query while it is open.
      const issuer = findBin(request.pan);
      const keys = issuer ? await this.#keys.keysFor(issuer.bank.code) : undefined;
      const outcome = await transactionWithRetry(this.#db, (trx) =>
        request.kind === 'reversal' ? this.#reverse(trx, request, key) : this.#authorizeLocked(trx, request, key, keys));
      // The locked path may have changed the card: its next request reads it afresh.
      this.#cards.delete(request.pan);
      return buildResponse(message, outcome);
    } catch (error) {
      // Two copies of one request raced past the duplicate check: the loser answers with the winner's answer.
      if ((error as { code?: string }).code === '23505') {
        const stored = await this.#stored(this.#db, key);
        if (stored) return buildResponse(message, stored);
      }
      this.#logger.error({ err: error, mti: request.mti, stan: request.stan }, 'authorization failed');
      return buildResponse(message, { responseCode: ResponseCode.SYSTEM_MALFUNCTION });
    }
  }

  async #stored(db: Db, key: string): Promise<Outcome | undefined> {
    const row = await db.selectFrom('authorization_messages').selectAll().where('message_key', '=', key).executeTakeFirst();
    return row ? storedOutcome(row) : undefined;
  }

  /** 'changed' when the card changed under us (decide again); 'locked_path' when the locked path must take over. */
  async #authorizeOptimistically(request: IssuerRequest, key: string): Promise<Outcome | 'changed' | 'locked_path'> {
    const issuer = findBin(request.pan);
    if (!issuer) return 'locked_path';
    let card = this.#cards.get(request.pan);
    if (!card) {
      const found = await this.#fast.snapshot(request.pan, key);
      if (!found) return 'locked_path';
      if (found.last_atc === null) {
        // A card that never went through personalisation has no authorization state yet.
        await this.#db.insertInto('card_authorization_state').values({ pan: request.pan, last_atc: 0, pin_verification_value: null, pin_wrong_tries: 0, held_fen: 0n })
          .onConflict((oc) => oc.column('pan').doNothing()).execute();
        return 'changed';
      }
      if (found.duplicate_id !== null) return (await this.#stored(this.#db, key)) ?? 'changed';
      card = snapshotOf(found);
    }
    const now = this.#clock();
    const decision = decide(request, card, await this.#keys.keysFor(issuer.bank.code), now, this.#cvks.get(issuer.bank.code));
    const row = messageRow(request, key, decision, now);
    let result: { guarded: boolean; inserted: boolean };
    try {
      result = await this.#fast.write({ card, decision, row });
    } catch (error) {
      this.#cards.delete(request.pan);
      // A deadlock with a locked-path transaction (or a serialization failure) aborts the whole
      // batch: nothing was written, so each of its requests is decided again.
      if (isRetryableTransactionError(error)) return 'changed';
      throw error;
    }
    if (!result.guarded) {
      this.#cards.delete(request.pan);
      return 'changed';
    }
    // A copy of an answered request wrote nothing: the card is as the guard saw it.
    this.#remember(result.inserted
      ? { ...card, lastAtc: decision.lastAtc, pinWrongTries: decision.pinWrongTries, heldFen: decision.heldFen, balanceFen: decision.balanceFen }
      : card);
    if (!result.inserted) return (await this.#stored(this.#db, key)) ?? 'changed';
    return storedOutcome(row);
  }

  /** Keeps a card's state as its last guarded write left it, dropping the least recently used card when full. */
  #remember(card: CardSnapshot): void {
    this.#cards.delete(card.pan);
    if (this.#cards.size >= cardCacheSizeMax) this.#cards.delete(this.#cards.keys().next().value!);
    this.#cards.set(card.pan, card);
  }

  async #authorizeLocked(trx: Db, request: IssuerRequest, key: string, keys: IssuerKeys | undefined): Promise<Outcome> {
    const now = this.#clock();
    const card = await trx.selectFrom('card_accounts').selectAll().where('pan', '=', request.pan).forUpdate().executeTakeFirst();
    const duplicate = await this.#stored(trx, key);
    if (duplicate) return duplicate;
    if (!card || !keys) {
      const row = messageRow(request, key, undefined, now);
      await trx.insertInto('authorization_messages').values(row).execute();
      return storedOutcome(row);
    }
    await trx.insertInto('card_authorization_state').values({ pan: request.pan, last_atc: 0, pin_verification_value: null, pin_wrong_tries: 0, held_fen: 0n })
      .onConflict((oc) => oc.column('pan').doNothing()).execute();
    const state = await trx.selectFrom('card_authorization_state').selectAll().where('pan', '=', request.pan).forUpdate().executeTakeFirstOrThrow();
    const decision = decide(request, snapshotOf({ ...card, ...state, duplicate_id: null }), keys, now, this.#cvks.get(keys.bankCode));
    if (decision.refundPending) await this.#refund(trx, request, decision);
    if (decision.completionPending) await this.#complete(trx, request, decision, card);
    await trx.updateTable('card_authorization_state')
      .set({ last_atc: decision.lastAtc, pin_wrong_tries: decision.pinWrongTries, held_fen: decision.heldFen })
      .where('pan', '=', request.pan).execute();
    if (decision.balanceFen !== card.balance_fen) {
      await trx.updateTable('card_accounts').set({ balance_fen: decision.balanceFen }).where('pan', '=', request.pan).execute();
    }
    const row = messageRow(request, key, decision, now);
    await trx.insertInto('authorization_messages').values(row).execute();
    return storedOutcome(row);
  }

  /** Finds the purchase a refund names and settles the decision: credit, or 25 / 13. */
  async #refund(trx: Db, request: IssuerRequest, decision: Decision): Promise<void> {
    const original = await trx.selectFrom('authorization_messages').selectAll()
      .where('rrn', '=', request.originalRrn!).where('pan', '=', request.pan).where('kind', '=', 'purchase')
      .where('terminal_id', '=', request.terminalId)
      .where('response_code', '=', ResponseCode.APPROVED).where('reversed_at', 'is', null).forUpdate().executeTakeFirst();
    decision.refundPending = false;
    if (!original) {
      decision.responseCode = ResponseCode.ORIGINAL_NOT_FOUND;
      decision.reason = 'NO_ORIGINAL';
    } else if (request.amountFen > original.amount_fen - original.refunded_fen) {
      decision.responseCode = ResponseCode.INVALID_AMOUNT;
      decision.reason = 'OVER_REFUND';
    } else {
      await trx.updateTable('authorization_messages').set({ refunded_fen: original.refunded_fen + request.amountFen }).where('id', '=', original.id).execute();
      decision.balanceFen += request.amountFen;
      decision.messageBalanceDeltaFen = request.amountFen;
    }
  }

  /**
   * Pre-authorization completion: the approved, unreversed, not yet completed 0100 that field 61
   * names (same card) releases its hold and the completion debits its own amount — at most 115%
   * of the authorization (the UnionPay rule for 预授权完成), the part above the hold within the
   * funds available. Otherwise 25 (no such authorization), 13 (over 115%) or 51.
   */
  async #complete(trx: Db, request: IssuerRequest, decision: Decision, card: { balance_fen: bigint; credit_limit_fen: bigint }): Promise<void> {
    decision.completionPending = false;
    const original = await trx.selectFrom('authorization_messages').selectAll()
      .where('rrn', '=', request.originalRrn!).where('pan', '=', request.pan).where('kind', '=', 'authorization')
      .where('response_code', '=', ResponseCode.APPROVED).where('reversed_at', 'is', null).where('completed_at', 'is', null)
      .forUpdate().executeTakeFirst();
    if (!original) {
      decision.responseCode = ResponseCode.ORIGINAL_NOT_FOUND;
      decision.reason = 'NO_AUTHORIZATION';
      return;
    }
    if (request.amountFen * 100n > original.amount_fen * completionPercentMax) {
      decision.responseCode = ResponseCode.INVALID_AMOUNT;
      decision.reason = 'OVER_AUTHORIZATION';
      return;
    }
    const heldAfter = decision.heldFen - original.held_fen;
    if (request.amountFen > card.balance_fen + card.credit_limit_fen - heldAfter) {
      decision.responseCode = ResponseCode.INSUFFICIENT_FUNDS;
      decision.reason = 'FUNDS';
      return;
    }
    await trx.updateTable('authorization_messages').set({ completed_at: this.#clock() }).where('id', '=', original.id).execute();
    decision.heldFen = heldAfter;
    decision.messageHeldFen = -original.held_fen;
    decision.balanceFen -= request.amountFen;
    decision.messageBalanceDeltaFen = -request.amountFen;
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
    // A completed authorization's hold is already a debit: the completion is what to reverse.
    if (original.completed_at !== null) return record('ALREADY_COMPLETED');
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
    // A reversed completion puts the hold back (its held_fen, negative, was undone above) and the authorization can be completed again.
    if (original.kind === 'completion' && original.original_rrn) {
      await trx.updateTable('authorization_messages').set({ completed_at: null }).where('rrn', '=', original.original_rrn)
        .where('pan', '=', request.pan).where('kind', '=', 'authorization').execute();
    }
    return record(null);
  }
}

function snapshotOf(row: SnapshotRow): CardSnapshot {
  return {
    pan: row.pan, status: row.status, expiryYymm: row.expiry_yymm, panSequence: row.pan_sequence, balanceFen: BigInt(row.balance_fen),
    creditLimitFen: BigInt(row.credit_limit_fen), lastAtc: row.last_atc ?? 0, pinVerificationValue: row.pin_verification_value,
    pinWrongTries: row.pin_wrong_tries ?? 0, heldFen: BigInt(row.held_fen ?? 0n),
  };
}

/** The stored form of an answer; `decision` undefined means the card does not exist (14). */
function messageRow(request: IssuerRequest, key: string, decision: Decision | undefined, now: Date): Omit<MessageRow, 'id'> {
  const responseCode = decision?.responseCode ?? ResponseCode.INVALID_CARD_NUMBER;
  const icc = decision?.chip ? issuerAuthenticationData(decision.chip.algorithm, decision.chip, responseCode) : null;
  return {
    message_key: key, kind: request.kind as MessageRow['kind'], pan: decision ? request.pan : null, amount_fen: request.amountFen, rrn: request.rrn ?? null,
    terminal_id: request.terminalId, response_code: responseCode, decline_reason: decision ? decision.reason : 'NO_CARD',
    auth_code: responseCode === ResponseCode.APPROVED ? String(randomInt(0, 1_000_000)).padStart(6, '0') : null,
    response_icc_hex: icc ? icc.toString('hex') : null, held_fen: decision?.messageHeldFen ?? 0n,
    balance_delta_fen: decision?.messageBalanceDeltaFen ?? 0n, refunded_fen: 0n, original_rrn: request.originalRrn ?? null,
    reversed_at: null, created_at: now, completed_at: null,
  };
}

function storedOutcome(row: Pick<MessageRow, 'response_code' | 'decline_reason' | 'auth_code' | 'response_icc_hex'>): Outcome {
  return {
    responseCode: row.response_code, reason: row.decline_reason, authCode: row.auth_code,
    icc: row.response_icc_hex ? Buffer.from(row.response_icc_hex, 'hex') : null,
  };
}
