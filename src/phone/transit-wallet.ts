// The wallet app's transit operations over the platform's /v1/transit API: brands, issue a card
// onto this phone, top it up (pay, then load online: sign, credit, confirm — a top-up left
// unfinished by a tear is finished first, by the card's own proof), history (the card's own
// records merged with the operator's settled ones), automatic top-up and the low-balance alert.
import { randomUUID } from 'node:crypto';
import { readCardRecords, type CardRecord } from './transit-records.ts';
import type { BrandWire, IssuedCard } from '../transit/client.ts';
import { PhoneError } from './errors.ts';
import type { MiPhone } from './phone.ts';
import { PlatformClient, type TransitLoad } from '../platform/client.ts';
import { closeInSecureElement, findTransitCard, installIssuedCard, removeTransitCard, summarize, type TransitCardSummary } from './transit-cards.ts';
import { loadCard, proveLoad } from './transit-load.ts';

const client = (phone: MiPhone) => new PlatformClient(phone.state.platformUrl);
function token(phone: MiPhone): string {
  const t = phone.state.session?.token;
  if (!t) throw new PhoneError('not_logged_in', 'Log in first: `mipay phone login`.');
  return t;
}

export type PaySource = { kind: 'balance' } | { kind: 'card'; card_id: string };
type WireLoad = TransitLoad;
type WireBrand = Omit<BrandWire, 'issueFeeFen' | 'depositFen' | 'topUpMinFen' | 'topUpMaxFen' | 'balanceCapFen'> & {
  issueFeeFen: number; depositFen: number; topUpMinFen: number; topUpMaxFen: number; balanceCapFen: number;
};

/** A brand as the platform's API sends it (amounts as numbers), as the phone keeps it (bigint). */
function brandFromWire(b: WireBrand): BrandWire {
  return {
    ...b, issueFeeFen: BigInt(b.issueFeeFen), depositFen: BigInt(b.depositFen), topUpMinFen: BigInt(b.topUpMinFen), topUpMaxFen: BigInt(b.topUpMaxFen),
    balanceCapFen: BigInt(b.balanceCapFen), fares: { busFen: BigInt(b.fares.busFen as unknown as number) },
  };
}

export async function transitBrands(phone: MiPhone): Promise<WireBrand[]> {
  return (await client(phone).call<{ data: WireBrand[] }>({ method: 'GET', path: '/v1/transit/brands', token: token(phone) })).data;
}

/** Issues a card of `brand` onto this phone: the platform checks and charges, the operator personalises, the secure element stores it. */
export async function issueTransitCard(phone: MiPhone, input: { brand: string; source: PaySource; paymentPassword: string }): Promise<TransitCardSummary> {
  const deviceId = phone.state.deviceId;
  if (!deviceId) throw new PhoneError('not_registered', 'This phone is not registered with the platform yet: log in first.');
  const answer = await client(phone).call<{ card: { id: string }; brand: WireBrand; personalisation: IssuedCard }>({
    method: 'POST', path: '/v1/transit/cards', token: token(phone), idempotencyKey: randomUUID(),
    body: { device_id: deviceId, brand: input.brand, source: input.source, payment_password: input.paymentPassword },
  });
  const brand = brandFromWire(answer.brand);
  return installIssuedCard(phone, { id: answer.card.id, brand, issued: answer.personalisation });
}

/** Loads one paid top-up onto the card, or finishes one a tear left half done. */
async function finishTopUp(phone: MiPhone, cardId: string, load: WireLoad): Promise<void> {
  const call = client(phone);
  const t = token(phone);
  const card = findTransitCard(phone, cardId);
  if (load.status === 'signed' && load.online_seq !== null) {
    if (card.onlineSeq > load.online_seq) {
      // The card moved past the signed counter: it credited this load; its proof confirms it.
      const proved = await proveLoad(phone, { cardId, onlineSeq: load.online_seq });
      if (!proved) throw new PhoneError('transit_load_failed', `The card cannot prove top-up ${load.id}; contact support.`);
      await call.call({ method: 'POST', path: `/v1/transit/top-ups/${load.id}/confirm`, token: t, body: { tac: proved.tac } });
      return;
    }
  }
  const done = await loadCard(phone, {
    cardId, loadId: load.id, amountFen: BigInt(load.amount_fen),
    sign: async (r) => {
      const signed = await call.call<{ mac2: string; date: string; time: string }>({
        method: 'POST', path: `/v1/transit/top-ups/${load.id}/sign`, token: t,
        body: { balance_fen: Number(r.balanceFen), online_seq: r.onlineSeq, random: r.random, mac1: r.mac1, terminal_id: r.terminalId },
      });
      return { loadId: load.id, ...signed };
    },
  });
  await call.call({ method: 'POST', path: `/v1/transit/top-ups/${load.id}/confirm`, token: t, body: { tac: done.tac } });
}

/** Finishes every top-up of the card that is paid but not yet confirmed on it (after a tear). */
export async function recoverTopUps(phone: MiPhone, cardId: string): Promise<number> {
  const card = findTransitCard(phone, cardId);
  const { data } = await client(phone).call<{ data: WireLoad[] }>({ method: 'GET', path: `/v1/transit/cards/${card.id}/top-ups`, token: token(phone) });
  // Signed ones first: each was signed for the card's counter of its time, which a newer load must not take.
  const ordered = [...data.filter((l) => l.status === 'signed'), ...data.filter((l) => l.status !== 'signed')];
  for (const load of ordered) await finishTopUp(phone, card.id, load);
  return data.length;
}

/** Tops the card up: unfinished top-ups first, then this one (paid, signed, loaded, confirmed). */
export async function topUpTransitCard(phone: MiPhone, input: { cardId: string; amountFen: bigint; source: PaySource; paymentPassword: string }): Promise<TransitCardSummary> {
  const card = findTransitCard(phone, input.cardId);
  await recoverTopUps(phone, card.id);
  const load = await client(phone).call<WireLoad>({
    method: 'POST', path: `/v1/transit/cards/${card.id}/top-ups`, token: token(phone), idempotencyKey: randomUUID(),
    body: { amount_fen: Number(input.amountFen), source: input.source, payment_password: input.paymentPassword },
  });
  await finishTopUp(phone, card.id, load);
  return summarize(findTransitCard(phone, card.id));
}

export interface HistoryEntry extends CardRecord {
  /** `card`: read from the card only (not yet uploaded by a gate); `settled`: the operator has it too. */
  source: 'card' | 'settled';
}

/** The card's own records (offline), marked settled where the operator's records (online) have them too. */
export async function transitHistory(phone: MiPhone, cardId: string, options: { online: boolean }): Promise<HistoryEntry[]> {
  const card = findTransitCard(phone, cardId);
  const own = readCardRecords(card);
  if (!options.online) return own.map((r) => ({ ...r, source: 'card' as const }));
  const { data } = await client(phone).call<{ data: { kind: 'purchase' | 'load'; seq: number; amountFen: number; date: string; time: string; description: string | null }[] }>({
    method: 'GET', path: `/v1/transit/cards/${card.id}/history`, token: token(phone),
  });
  const settled = new Map(data.map((r) => [`${r.kind}:${r.seq}`, r]));
  const merged: HistoryEntry[] = own.map((r) => {
    const s = settled.get(`${r.kind}:${r.seq}`);
    settled.delete(`${r.kind}:${r.seq}`);
    return { ...r, description: s?.description ?? r.description, source: s ? 'settled' as const : 'card' as const };
  });
  // Older than the card's 10-record file: only the operator still has them.
  for (const r of settled.values()) {
    merged.push({ kind: r.kind, seq: r.seq, amountFen: BigInt(r.amountFen), date: r.date, time: r.time, description: r.description, source: 'settled' });
  }
  return merged.sort((a, b) => `${b.date}${b.time}`.localeCompare(`${a.date}${a.time}`) || b.seq - a.seq);
}

/** Sets automatic top-up and the low-balance alert, on the platform and in the secure element. */
export async function transitSettings(phone: MiPhone, input: { cardId: string; autoTopUp: { belowFen: bigint; amountFen: bigint } | null; lowBalanceAlertFen: bigint | null }): Promise<TransitCardSummary> {
  const card = findTransitCard(phone, input.cardId);
  await client(phone).call({
    method: 'PUT', path: `/v1/transit/cards/${card.id}/settings`, token: token(phone),
    body: {
      auto_top_up: input.autoTopUp ? { below_fen: Number(input.autoTopUp.belowFen), amount_fen: Number(input.autoTopUp.amountFen) } : null,
      low_balance_alert_fen: input.lowBalanceAlertFen === null ? null : Number(input.lowBalanceAlertFen),
    },
  });
  card.autoTopUp = input.autoTopUp ? { belowFen: String(input.autoTopUp.belowFen), amountFen: String(input.autoTopUp.amountFen) } : null;
  card.lowBalanceAlertFen = input.lowBalanceAlertFen === null ? null : String(input.lowBalanceAlertFen);
  phone.save();
  return summarize(card);
}

/**
 * What the wallet does when it is next online after taps: a low-balance alert when the card is
 * below the user's threshold, and the automatic top-up (from the balance, with the payment
 * password the user allowed for it) when below the auto top-up threshold.
 */
export async function afterTaps(phone: MiPhone, input: { cardId: string; paymentPassword: string | null }): Promise<{ alert: string | null; toppedUpFen: bigint }> {
  const card = findTransitCard(phone, input.cardId);
  const balance = BigInt(card.balanceFen);
  const alert = card.lowBalanceAlertFen != null && balance < BigInt(card.lowBalanceAlertFen)
    ? `${card.brandName} balance is ¥${(Number(balance) / 100).toFixed(2)}, below your alert of ¥${(Number(card.lowBalanceAlertFen) / 100).toFixed(2)}.`
    : null;
  let toppedUpFen = 0n;
  if (card.autoTopUp && balance < BigInt(card.autoTopUp.belowFen) && input.paymentPassword !== null) {
    const amountFen = BigInt(card.autoTopUp.amountFen);
    await topUpTransitCard(phone, { cardId: card.id, amountFen, source: { kind: 'balance' }, paymentPassword: input.paymentPassword });
    toppedUpFen = amountFen;
  }
  return { alert, toppedUpFen };
}

/** The platform's view of a transit card after a close. */
export interface WireTransitCard {
  id: string; brand: string; card_number: string | null; device_id: string; status: string; moved_from: string | null;
  proven_balance_fen: number | null; refund_after: string | null; refunded_at: string | null;
}

/**
 * Moves a card off this phone, or returns it: top-ups still unfinished go onto the card first,
 * then the operator's challenge, the secure element's close proof (the card stops answering
 * readers), and the platform closes the card. A close torn after the secure element closed the
 * card is finished by calling again: the stored proof is sent. The card leaves this phone.
 */
export async function closeTransitCard(phone: MiPhone, input: { cardId: string; reason: 'move' | 'return'; paymentPassword: string }): Promise<WireTransitCard> {
  const card = findTransitCard(phone, input.cardId);
  const reason = input.reason === 'move' ? 'moved' as const : 'returned' as const;
  const call = client(phone);
  if (card.status === 'active') {
    await recoverTopUps(phone, card.id);
    const { challenge } = await call.call<{ challenge: string }>({ method: 'POST', path: `/v1/transit/cards/${card.id}/close-challenge`, token: token(phone), body: {} });
    closeInSecureElement(phone, card.id, { reason, challenge });
  }
  const proof = card.closeProof;
  if (!proof || proof.reason !== reason) throw new PhoneError('card_not_active', `The ${card.brandName} card is ${card.status}.`, 'cardId');
  const closed = await call.call<WireTransitCard>({
    method: 'POST', path: `/v1/transit/cards/${card.id}/close`, token: token(phone), idempotencyKey: randomUUID(),
    body: {
      reason: input.reason, payment_password: input.paymentPassword,
      proof: { balance_fen: Number(proof.balanceFen), online_seq: proof.onlineSeq, offline_seq: proof.offlineSeq, challenge: proof.challenge, mac: proof.mac },
    },
  });
  removeTransitCard(phone, card.id);
  return closed;
}

/**
 * Returns a card whose phone is lost, from this (another) logged-in phone: the platform closes it
 * without a proof (the operator blacklists it), and refunds the balance in its books and the
 * deposit once every gate had its window to upload.
 */
export async function returnTransitCardWithoutPhone(phone: MiPhone, input: { cardId: string; paymentPassword: string }): Promise<WireTransitCard> {
  return client(phone).call<WireTransitCard>({
    method: 'POST', path: `/v1/transit/cards/${encodeURIComponent(input.cardId)}/close`, token: token(phone), idempotencyKey: randomUUID(),
    body: { reason: 'return', payment_password: input.paymentPassword, proof: null },
  });
}

/**
 * Moves a card (closed for a move on the old phone) onto this phone: a new card of the brand is
 * issued here and the balance the old card proved is loaded onto it online.
 */
export async function moveTransitCardHere(phone: MiPhone, input: { cardId: string }): Promise<TransitCardSummary & { carriedFen: bigint }> {
  const deviceId = phone.state.deviceId;
  if (!deviceId) throw new PhoneError('not_registered', 'This phone is not registered with the platform yet: log in first.');
  const answer = await client(phone).call<{ card: { id: string }; brand: WireBrand; personalisation: IssuedCard; carried_fen: number }>({
    method: 'POST', path: `/v1/transit/cards/${encodeURIComponent(input.cardId)}/move-in`, token: token(phone), idempotencyKey: randomUUID(),
    body: { device_id: deviceId },
  });
  const brand = brandFromWire(answer.brand);
  installIssuedCard(phone, { id: answer.card.id, brand, issued: answer.personalisation });
  await recoverTopUps(phone, answer.card.id);
  return { ...summarize(findTransitCard(phone, answer.card.id)), carriedFen: BigInt(answer.carried_fen) };
}
