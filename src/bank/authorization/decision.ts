// The issuer's decision on one authorization or purchase, as a pure function of the request
// and the card as read: which response code, and what the card's state becomes (last ATC,
// wrong PIN tries, amount held, balance). Applying it is the authorizer's job, so that the
// same rules serve the locked path and the optimistic fast path.
import { CryptoInputError, decryptPinBlock } from '../../protocols/crypto/index.ts';
import { checkArqc, type ChipCheck } from '../../protocols/emv/online-cryptogram.ts';
import { cardMasterKeyAc, cryptogramVersionOf, pinMatches, type IssuerKeys } from './issuer-keys.ts';
import { manualEntryRefusal } from './card-verification.ts';
import type { IssuerRequest } from './request.ts';
import { ResponseCode } from '../../protocols/iso8583/response-codes.ts';
import { isExpired } from '../card-expiry.ts';

/** How far ahead of the last seen ATC a card may be (taps that never reached the bank). */
export const atcForwardWindowMax = 32;
export const pinTriesMax = 3;

export interface CardSnapshot {
  pan: string;
  status: 'active' | 'lost' | 'frozen' | 'closed';
  expiryYymm: string;
  panSequence: string;
  balanceFen: bigint;
  creditLimitFen: bigint;
  lastAtc: number;
  pinVerificationValue: string | null;
  pinWrongTries: number;
  heldFen: bigint;
}

export interface Decision {
  responseCode: string;
  reason: string | null;
  /** Set when the ARQC verified: the answer carries an ARPC. */
  chip: Extract<ChipCheck, { ok: true }> | undefined;
  /** The card's state after this request. */
  lastAtc: number;
  pinWrongTries: number;
  heldFen: bigint;
  balanceFen: bigint;
  /** What this request itself did: put on hold, and moved on the balance (signed). */
  messageHeldFen: bigint;
  messageBalanceDeltaFen: bigint;
  /** A refund or a completion that passed the card checks; its original still has to be found (under lock). */
  refundPending: boolean;
  completionPending: boolean;
}

/** Field 22's first two digits: how the card number was read. Magnetic stripe (02, 80, 90) and anything else is refused. */
const chipEntryModes = new Set(['05', '07']);
const manualEntryMode = '01';

/** `cvk`: the bank's card verification key, for keyed-in card numbers (card-verification.ts). */
export function decide(request: IssuerRequest, card: CardSnapshot, keys: IssuerKeys, now: Date, cvk?: Buffer): Decision {
  const state: Decision = {
    responseCode: ResponseCode.APPROVED, reason: null, chip: undefined, lastAtc: card.lastAtc, pinWrongTries: card.pinWrongTries,
    heldFen: card.heldFen, balanceFen: card.balanceFen, messageHeldFen: 0n, messageBalanceDeltaFen: 0n, refundPending: false, completionPending: false,
  };
  const decline = (responseCode: string, reason: string): Decision => ({ ...state, responseCode, reason });

  if (request.amountFen <= 0n) return decline(ResponseCode.INVALID_AMOUNT, 'AMOUNT');
  if (card.status === 'closed') return decline(ResponseCode.INVALID_CARD_NUMBER, 'CLOSED');
  // A refund puts money back and a completion takes what an approved hold already reserved:
  // neither is refused for the card's status or expiry since.
  if (request.kind !== 'refund' && request.kind !== 'completion') {
    if (card.status === 'lost') return decline(ResponseCode.LOST_CARD, 'LOST');
    if (card.status === 'frozen') return decline(ResponseCode.NOT_PERMITTED, 'FROZEN');
    if (isExpired(card.expiryYymm, now)) return decline(ResponseCode.EXPIRED_CARD, 'EXPIRED');
  }
  // A completion reads no card: the hold it completes was authorized with one.
  const entry = request.entryMode.slice(0, 2);
  if (request.kind !== 'completion') {
    if (entry === manualEntryMode) {
      const refusal = manualEntryRefusal(cvk, card.pan, card.expiryYymm, { expiryYymm: request.expiryYymm, cvn2: request.cvn2 });
      if (refusal) return decline(ResponseCode.DO_NOT_HONOUR, refusal);
    } else if (!chipEntryModes.has(entry)) {
      return decline(ResponseCode.INVALID_TRANSACTION, 'ENTRY_MODE');
    }
  }
  if (request.icc && chipEntryModes.has(entry)) {
    const check = checkArqc({
      icc: request.icc, algorithm: keys.acAlgorithm, cryptogramVersion: cryptogramVersionOf[keys.acAlgorithm],
      cardMasterKey: cardMasterKeyAc(keys, card.pan, card.panSequence), amountFen: request.amountFen,
    });
    if (!check.ok) return decline(ResponseCode.DO_NOT_HONOUR, check.reason === 'FORMAT' ? 'ICC_FORMAT' : check.reason);
    // A replayed or far-future ATC is refused even with a valid cryptogram: it was generated before, or skipped ahead.
    if (check.atc <= card.lastAtc || check.atc > card.lastAtc + atcForwardWindowMax) return decline(ResponseCode.DO_NOT_HONOUR, 'ATC');
    state.lastAtc = check.atc;
    state.chip = check;
  } else if (chipEntryModes.has(entry) && !(entry === '07' && request.verifiedByTokenService)) {
    return decline(ResponseCode.FORMAT_ERROR, 'NO_ICC');
  }

  if (request.pinBlock && request.kind !== 'refund') {
    if (state.pinWrongTries >= pinTriesMax) return decline(ResponseCode.PIN_TRIES_EXCEEDED, 'PIN_TRIES');
    let pin: string | undefined;
    try {
      pin = decryptPinBlock('tdes', keys.zonePinKey, request.pinBlock, card.pan);
    } catch (error) {
      if (!(error instanceof CryptoInputError)) throw error;
    }
    if (!pin || !card.pinVerificationValue || !pinMatches(keys, card.pan, pin, card.pinVerificationValue)) {
      state.pinWrongTries += 1;
      return state.pinWrongTries >= pinTriesMax ? decline(ResponseCode.PIN_TRIES_EXCEEDED, 'PIN_TRIES') : decline(ResponseCode.INCORRECT_PIN, 'PIN');
    }
    state.pinWrongTries = 0;
  }
  if (request.kind === 'refund') return { ...state, refundPending: true };
  if (request.kind === 'completion') return { ...state, completionPending: true };
  if (request.amountFen > card.balanceFen + card.creditLimitFen - card.heldFen) return decline(ResponseCode.INSUFFICIENT_FUNDS, 'FUNDS');
  if (request.kind === 'authorization') {
    state.heldFen += request.amountFen;
    state.messageHeldFen = request.amountFen;
  } else {
    state.balanceFen -= request.amountFen;
    state.messageBalanceDeltaFen = -request.amountFen;
  }
  return state;
}
