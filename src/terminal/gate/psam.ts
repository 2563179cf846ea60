// The gate's PSAM (purchase secure access module): it holds the operators' purchase master
// keys — its own brand's, and for a T-Union gate every T-Union brand's — derives the card's
// purchase key and the session key, computes MAC1 and checks the card's MAC2 (JR/T 0025.2).
// It numbers the terminal's transactions; TAC keys stay with the issuers.
import assert from 'node:assert/strict';
import { timingSafeEqual } from 'node:crypto';
import { diversifyCardKey, epurseMac, purchaseMac1Data, purchaseMac2Data, purchaseSessionKey, type EpurseAlgorithm, type PurchaseFacts } from '../../protocols/epurse/index.ts';

export interface PsamKey {
  /** The first 8 digits of the brand's card numbers. */
  cardPrefix: string;
  algorithm: EpurseAlgorithm;
  purchaseMasterKey: Buffer;
}

export interface PsamSession {
  facts: PurchaseFacts;
  sessionKey: Buffer;
  algorithm: EpurseAlgorithm;
}

export class Psam {
  /** 6 bytes: the terminal number written into every record and TAC. */
  readonly terminalId: Buffer;
  readonly #keys: readonly PsamKey[];
  #terminalSeq: number;

  constructor(options: { terminalId: Buffer; keys: readonly PsamKey[]; lastTerminalSeq?: number }) {
    assert.equal(options.terminalId.length, 6, 'a PSAM terminal id is 6 bytes');
    this.terminalId = options.terminalId;
    this.#keys = options.keys;
    this.#terminalSeq = options.lastTerminalSeq ?? 0;
  }

  get terminalSeq(): number {
    return this.#terminalSeq;
  }

  /** True when this PSAM holds the purchase key of the card's brand. */
  accepts(cardNumber: string): boolean {
    return this.#keys.some((k) => cardNumber.startsWith(k.cardPrefix));
  }

  /** MAC1 for a purchase (PSAM "INIT SAM FOR PURCHASE"): the next terminal transaction number, the session. */
  mac1(input: {
    cardNumber: string; random: Buffer; offlineSeq: number; amountFen: bigint; transactionType: PurchaseFacts['transactionType']; date: string; time: string;
  }): { mac1: Buffer; session: PsamSession } {
    const key = this.#keys.find((k) => input.cardNumber.startsWith(k.cardPrefix));
    assert.ok(key, 'the gate checks accepts() first');
    this.#terminalSeq = (this.#terminalSeq + 1) >>> 0;
    const facts: PurchaseFacts = {
      amountFen: input.amountFen, transactionType: input.transactionType, terminalId: this.terminalId, terminalSeq: this.#terminalSeq, date: input.date, time: input.time,
    };
    const cardKey = diversifyCardKey(key.algorithm, key.purchaseMasterKey, input.cardNumber);
    const sessionKey = purchaseSessionKey(key.algorithm, cardKey, { random: input.random, offlineSeq: input.offlineSeq, terminalSeq: this.#terminalSeq });
    return { mac1: epurseMac(key.algorithm, sessionKey, purchaseMac1Data(facts)), session: { facts, sessionKey, algorithm: key.algorithm } };
  }

  /** Checks the card's MAC2 ("CREDIT SAM FOR PURCHASE"): the card really debited. */
  verifyMac2(session: PsamSession, mac2: Buffer): boolean {
    const expected = epurseMac(session.algorithm, session.sessionKey, purchaseMac2Data(session.facts.amountFen));
    return mac2.length === 4 && timingSafeEqual(expected, mac2);
  }
}
