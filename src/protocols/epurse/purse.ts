// The three MACs of one purchase and of one load, computed from the card keys the way both ends
// of the exchange do it: the card (or the phone's applet) and the PSAM or issuer.
import type { EpurseAlgorithm } from './keys.ts';
import { loadSessionKey, purchaseSessionKey, tacSessionKey } from './keys.ts';
import {
  epurseMac, loadMac1Data, loadMac2Data, loadTacData, purchaseMac1Data, purchaseMac2Data, purchaseTacData,
  type LoadFacts, type PurchaseFacts,
} from './mac.ts';

/** The card data a purchase's session key comes from (INITIALIZE FOR PURCHASE response). */
export interface PurchaseSession {
  random: Buffer;
  offlineSeq: number;
}

/** MAC1 (PSAM → card), MAC2 (card → PSAM) and TAC (card → operator) of one purchase (JR/T 0025.2). */
export function purchaseMacs(algorithm: EpurseAlgorithm, keys: { purchaseKey: Buffer; tacKey: Buffer },
  session: PurchaseSession, facts: PurchaseFacts): { mac1: Buffer; mac2: Buffer; tac: Buffer } {
  const sk = purchaseSessionKey(algorithm, keys.purchaseKey, { ...session, terminalSeq: facts.terminalSeq });
  return {
    mac1: epurseMac(algorithm, sk, purchaseMac1Data(facts)),
    mac2: epurseMac(algorithm, sk, purchaseMac2Data(facts.amountFen)),
    tac: purchaseTac(algorithm, keys.tacKey, facts),
  };
}

/** The TAC of one purchase, which the operator recomputes from the card's TAC key at settlement. */
export function purchaseTac(algorithm: EpurseAlgorithm, tacKey: Buffer, facts: PurchaseFacts): Buffer {
  return epurseMac(algorithm, tacSessionKey(algorithm, tacKey), purchaseTacData(facts));
}

/** The card data a load's session key comes from (INITIALIZE FOR LOAD response). */
export interface LoadSession {
  random: Buffer;
  onlineSeq: number;
  balanceFen: bigint;
}

/** MAC1 (card → issuer), MAC2 (issuer → card) and TAC (card) of one load (JR/T 0025.2). */
export function loadMacs(algorithm: EpurseAlgorithm, keys: { loadKey: Buffer; tacKey: Buffer },
  session: LoadSession, facts: LoadFacts): { mac1: Buffer; mac2: Buffer; tac: Buffer } {
  const sk = loadSessionKey(algorithm, keys.loadKey, session);
  const newBalanceFen = session.balanceFen + facts.amountFen;
  return {
    mac1: epurseMac(algorithm, sk, loadMac1Data({ balanceFen: session.balanceFen, amountFen: facts.amountFen, terminalId: facts.terminalId })),
    mac2: epurseMac(algorithm, sk, loadMac2Data(facts)),
    tac: epurseMac(algorithm, tacSessionKey(algorithm, keys.tacKey), loadTacData({ ...facts, newBalanceFen, onlineSeq: session.onlineSeq })),
  };
}
