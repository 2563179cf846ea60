// The wallet's transit cards on the phone itself (no platform call): install what the platform
// issued, list, choose the express card, disable a moved or returned card, and the NFC side.
import { closeProofData, closeProofMac, type BrandWire, type CloseReason, type IssuedCard } from '../transit/client.ts';
import { PhoneError } from './errors.ts';
import type { MiPhone } from './phone.ts';
import type { StoredCloseProof, StoredTransitCard } from './phone-state.ts';
import { TransitApplet } from './transit-applet.ts';

/** What the wallet shows of a transit card. */
export interface TransitCardSummary {
  id: string;
  brandCode: string;
  brandName: string;
  kind: 'city' | 'tunion';
  cardNumber: string;
  balanceFen: bigint;
  status: StoredTransitCard['status'];
  express: boolean;
  offlineSeq: number;
  onlineSeq: number;
}

export function summarize(card: StoredTransitCard): TransitCardSummary {
  return {
    id: card.id, brandCode: card.brandCode, brandName: card.brandName, kind: card.kind, cardNumber: card.cardNumber,
    balanceFen: BigInt(card.balanceFen), status: card.status, express: card.express, offlineSeq: card.offlineSeq, onlineSeq: card.onlineSeq,
  };
}

export function transitCards(phone: MiPhone): TransitCardSummary[] {
  return (phone.state.transitCards ?? []).map(summarize);
}

/** The stored card by id or by the last 4 digits of its number. */
export function findTransitCard(phone: MiPhone, cardId: string): StoredTransitCard {
  const cards = (phone.mutableState.transitCards ?? []).filter((c) => c.id === cardId || (/^[0-9]{4}$/.test(cardId) && c.cardNumber.endsWith(cardId)));
  if (cards.length > 1) throw new PhoneError('card_not_found', `Several transit cards end in ${cardId}: pick one by its id.`, 'cardId');
  if (!cards[0]) throw new PhoneError('card_not_found', `No transit card ${cardId} on this phone; see \`mipay phone transit list\`.`, 'cardId');
  return cards[0];
}

/**
 * Refuses a second T-Union card (they all share one AID, so a phone holds at most one), or a
 * second card of one city brand (same AID too), naming the card already there.
 */
export function checkRoomFor(phone: MiPhone, input: { kind: 'city' | 'tunion'; aid: string }): void {
  const active = (phone.state.transitCards ?? []).filter((c) => c.status === 'active');
  const tunion = active.find((c) => c.kind === 'tunion');
  if (input.kind === 'tunion' && tunion) {
    throw new PhoneError('transit_tunion_present', `This phone already holds a T-Union card (${tunion.brandName}); a phone holds at most one.`, 'brand');
  }
  const sameAid = active.find((c) => c.aid.toUpperCase() === input.aid.toUpperCase());
  if (sameAid) throw new PhoneError('transit_brand_present', `This phone already holds a ${sameAid.brandName} card.`, 'brand');
}

/** Puts an issued card into the secure element; the first transit card becomes the express card. */
export function installTransitCard(phone: MiPhone, card: Omit<StoredTransitCard, 'express'>): TransitCardSummary {
  checkRoomFor(phone, card);
  const state = phone.mutableState;
  const cards = state.transitCards ?? [];
  const stored: StoredTransitCard = { ...card, express: !cards.some((c) => c.status === 'active' && c.express) };
  state.transitCards = [...cards, stored];
  phone.save();
  return summarize(stored);
}

/** Express mode on for one card (off for every other), or off for `cardId`. */
export function setExpress(phone: MiPhone, cardId: string, on: boolean): TransitCardSummary {
  const card = findTransitCard(phone, cardId);
  if (card.status !== 'active') throw new PhoneError('card_not_active', `The ${card.brandName} card is ${card.status}.`, 'cardId');
  for (const other of phone.mutableState.transitCards ?? []) other.express = false;
  card.express = on;
  phone.save();
  return summarize(card);
}

/** A moved or returned card: it answers no reader again. Its keys are wiped. */
export function disableTransitCard(phone: MiPhone, cardId: string): TransitCardSummary {
  const card = findTransitCard(phone, cardId);
  card.status = 'disabled';
  card.express = false;
  card.keys = { purchase: '', load: '', tac: '', version: card.keys.version };
  phone.save();
  return summarize(card);
}

/**
 * The secure element closes a card for a move or a return: it states its balance and counters
 * under its TAC key over the operator's challenge, then stops answering readers and wipes its
 * keys — in that order and in one write, so the proof and the disabled card are one state.
 * Asked again for a card already closed the same way, it gives the same proof.
 */
export function closeInSecureElement(phone: MiPhone, cardId: string, input: { reason: CloseReason; challenge: string }): StoredCloseProof {
  const card = findTransitCard(phone, cardId);
  if (card.status === 'disabled') {
    if (card.closeProof?.reason === input.reason) return card.closeProof;
    throw new PhoneError('card_not_active', `The ${card.brandName} card is already closed.`, 'cardId');
  }
  if (!/^[0-9a-fA-F]{16}$/.test(input.challenge)) throw new PhoneError('transit_close_failed', 'The operator\'s challenge is not 8 bytes of hex.');
  const balanceFen = BigInt(card.balanceFen);
  const data = closeProofData({
    cardNumber: card.cardNumber, reason: input.reason, balanceFen, onlineSeq: card.onlineSeq, offlineSeq: card.offlineSeq,
    challenge: Buffer.from(input.challenge, 'hex'),
  });
  const mac = closeProofMac(card.algorithm, Buffer.from(card.keys.tac, 'hex'), data);
  const proof: StoredCloseProof = {
    reason: input.reason, balanceFen: String(balanceFen), onlineSeq: card.onlineSeq, offlineSeq: card.offlineSeq,
    challenge: input.challenge.toLowerCase(), mac: mac.toString('hex'),
  };
  card.closeProof = proof;
  disableTransitCard(phone, card.id);
  return proof;
}

/** Forgets a closed card once the platform has its proof. */
export function removeTransitCard(phone: MiPhone, cardId: string): void {
  const state = phone.mutableState;
  state.transitCards = (state.transitCards ?? []).filter((c) => c.id !== cardId);
  phone.save();
}

/**
 * The transit applets in a reader's field. Screen off: only the express card answers, with no
 * fingerprint. Otherwise the user picks a card and confirms with a fingerprint.
 */
export function transitApplet(phone: MiPhone, how: { screenOff: true } | { cardId: string; finger: string }): TransitApplet {
  let pickedCardId: string | null = null;
  if ('cardId' in how) {
    const card = findTransitCard(phone, how.cardId);
    phone.verifyFingerprint(how.finger);
    pickedCardId = card.id;
  }
  return new TransitApplet({ state: phone.mutableState, save: () => phone.save() }, { pickedCardId });
}

/** A card as its operator personalised it (through the platform), onto this phone; balance 0. */
export function installIssuedCard(phone: MiPhone, input: { id: string; brand: BrandWire; issued: IssuedCard }): TransitCardSummary {
  const { brand, issued } = input;
  return installTransitCard(phone, {
    id: input.id, brandCode: brand.code, brandName: brand.name, kind: brand.kind, aid: brand.aid, algorithm: brand.algorithm,
    cardNumber: issued.cardNumber, issuerFile: issued.issuerFile, tripSfi: brand.tripSfi, tripRecord: null, keys: issued.keys,
    balanceFen: '0', balanceCapFen: String(brand.balanceCapFen), offlineSeq: 0, onlineSeq: 0, records: [], proves: [], status: 'active',
  });
}
