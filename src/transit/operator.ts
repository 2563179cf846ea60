// One transit card company (one per brand, DESIGN section 6): it personalises cards with keys
// diversified from its master keys (kept in the keyring, never the database), signs loads
// after verifying the card's MAC1, confirms them by the card's TAC, and keeps a blacklist.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { ISSUER_FILE, diversifyCardKey, loadMacs } from '../protocols/epurse/index.ts';
import {
  FINAL_SETTLEMENT_DAYS, TransitError, closeProofData, closeProofMac, type BrandWire, type CardCloseProof, type ClosedCard, type CloseReason,
  type IssuedCard, type LoadRequest, type SettledRecord, type SignedLoad,
} from './client.ts';
import type { TransitTables } from './tables.ts';

/** An operator's master keys (16 bytes each): purchase (MPK), load (MLK), TAC (MTK). */
export interface OperatorKeys {
  purchase: Buffer;
  load: Buffer;
  tac: Buffer;
}
/** Key version written to cards; the keyring's keys are version 1. */
export const KEY_VERSION = 1;

const equal = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
const hex = (text: string, bytes: number, param: string): Buffer => {
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(text)) throw new TransitError('bad_request', `${param} must be ${bytes} bytes of hex.`, param);
  return Buffer.from(text, 'hex');
};

/** Date YYYYMMDD and time HHMMSS, China Standard Time, as cards and gates write them. */
export function beijingDateTime(now: Date): { date: string; time: string } {
  const t = new Date(now.getTime() + 8 * 3600_000).toISOString();
  return { date: t.slice(0, 10).replaceAll('-', ''), time: t.slice(11, 19).replaceAll(':', '') };
}

export class BrandOperator {
  readonly brand: BrandWire;
  readonly #keys: OperatorKeys;
  readonly #db: Kysely<TransitTables>;
  readonly #clock: () => Date;
  readonly #tacKeys = new Map<string, Buffer>();

  constructor(options: { brand: BrandWire; keys: OperatorKeys; db: Kysely<TransitTables>; clock: () => Date }) {
    this.brand = options.brand;
    this.#keys = options.keys;
    this.#db = options.db;
    this.#clock = options.clock;
  }

  /** The card's TAC key (diversified, cached: settlement asks for it once per record). */
  tacKey(cardNumber: string): Buffer {
    let key = this.#tacKeys.get(cardNumber);
    if (!key) {
      if (this.#tacKeys.size >= 100_000) this.#tacKeys.clear();
      key = diversifyCardKey(this.brand.algorithm, this.#keys.tac, cardNumber);
      this.#tacKeys.set(cardNumber, key);
    }
    return key;
  }

  /**
   * A new card number, its file 0x15 and its three keys; the same request id gives the same card.
   * With `carriedFrom`, the new card is the one a moved card's proven balance goes to (once).
   */
  async issueCard(requestId: string, carriedFrom?: string): Promise<IssuedCard & { carriedFen?: bigint }> {
    const brand = this.brand;
    if (brand.status === 'retired') {
      const instead = brand.replacement?.note ?? 'another brand';
      throw new TransitError('brand_retired', `${brand.name} is retired and no longer issued; use ${instead}.`, 'brandCode',
        { replacement: brand.replacement });
    }
    const existing = await this.#db.selectFrom('cards').select(['card_number', 'brand_code']).where('request_id', '=', requestId).executeTakeFirst();
    if (existing && existing.brand_code !== brand.code) throw new TransitError('bad_request', 'This request id was used for another brand.', 'requestId');
    const cardNumber = existing?.card_number ?? await this.#db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('card_numbers').values({ brand_code: brand.code, last_serial: 1n })
        .onConflict((c) => c.column('brand_code').doUpdateSet({ last_serial: sql`card_numbers.last_serial + 1` }))
        .returning('last_serial').executeTakeFirstOrThrow();
      const number = `${brand.cardPrefix}${String(row.last_serial).padStart(8, '0')}`;
      await trx.insertInto('cards').values({ card_number: number, brand_code: brand.code, request_id: requestId, status: 'active', close_reason: null,
        created_at: this.#clock(), closed_at: null, close_challenge: null, proven_balance_fen: null, carried_to: null, carry_load_id: null }).execute();
      if (carriedFrom !== undefined) await this.#claimCarry(trx, carriedFrom, number);
      return number;
    });
    if (carriedFrom === undefined) return this.personalisation(cardNumber);
    const from = await this.#db.selectFrom('cards').select(['carried_to', 'proven_balance_fen']).where('card_number', '=', carriedFrom).executeTakeFirst();
    if (from?.carried_to !== cardNumber) throw new TransitError('carry_refused', 'This request id issued a card that carries another card.', 'requestId');
    return { ...this.personalisation(cardNumber), carriedFen: from.proven_balance_fen! };
  }

  /** Marks the moved card `from` as carried to `to`: only a card of this brand, closed as moved with a proven balance, carried nowhere yet. */
  async #claimCarry(trx: Kysely<TransitTables>, from: string, to: string): Promise<void> {
    const claimed = await trx.updateTable('cards').set({ carried_to: to }).where('card_number', '=', from).where('brand_code', '=', this.brand.code)
      .where('status', '=', 'closed').where('close_reason', '=', 'moved').where('proven_balance_fen', 'is not', null).where('carried_to', 'is', null)
      .executeTakeFirst();
    if (claimed.numUpdatedRows === 0n) {
      throw new TransitError('carry_refused', `Card ${from} is not a ${this.brand.name} card closed for a move whose balance is still to carry.`, 'carriedFrom');
    }
  }

  personalisation(cardNumber: string): IssuedCard {
    const { date } = beijingDateTime(this.#clock());
    const issuerFile = ISSUER_FILE.encode({
      issuerId: Buffer.from(this.brand.cardPrefix.padEnd(16, '0'), 'hex'), applicationType: this.brand.kind === 'tunion' ? 0x02 : 0x01,
      applicationVersion: KEY_VERSION, cardNumber: cardNumber.padStart(20, '0'), validFrom: date,
      validUntil: `${Number(date.slice(0, 4)) + 10}${date.slice(4)}`, reserved: Buffer.alloc(2),
    });
    const k = (master: Buffer) => diversifyCardKey(this.brand.algorithm, master, cardNumber).toString('hex');
    return {
      cardNumber, brandCode: this.brand.code, issuerFile: issuerFile.toString('hex'),
      keys: { purchase: k(this.#keys.purchase), load: k(this.#keys.load), tac: k(this.#keys.tac), version: KEY_VERSION },
    };
  }

  async #activeCard(cardNumber: string): Promise<void> {
    const card = await this.#db.selectFrom('cards').select('status').where('card_number', '=', cardNumber).executeTakeFirst();
    if (!card) throw new TransitError('card_unknown', `${this.brand.name} issued no card ${cardNumber}.`, 'cardNumber');
    if (card.status !== 'active') throw new TransitError('card_closed', 'This card was moved or returned and takes no more loads.', 'cardNumber');
    const blocked = await this.#db.selectFrom('blacklist').select('reason').where('card_number', '=', cardNumber).executeTakeFirst();
    if (blocked) throw new TransitError('card_blocked', `This card is blacklisted (${blocked.reason}).`, 'cardNumber');
  }

  /**
   * Signs a load (JR/T 0025.2): checks the brand's limits, verifies MAC1 under the card's load
   * key, answers MAC2. A load id is signed for one card counter: asked again for the same
   * counter (the card was re-initialised after a tear) it is re-signed for the new random;
   * asked for a later counter, the card already credited it and the answer is
   * `load_counter_moved` — never a second MAC2 that could credit twice.
   */
  async signLoad(input: LoadRequest): Promise<SignedLoad> {
    const brand = this.brand;
    await this.#activeCard(input.cardNumber);
    if (input.carriedFrom !== undefined) await this.#checkCarry(input);
    else if (input.amountFen < brand.topUpMinFen || input.amountFen > brand.topUpMaxFen) {
      throw new TransitError('load_out_of_limits', `A ${brand.name} top-up is ${brand.topUpMinFen}–${brand.topUpMaxFen} fen.`, 'amountFen');
    }
    if (input.balanceFen < 0n || input.balanceFen + input.amountFen > brand.balanceCapFen) {
      throw new TransitError('load_out_of_limits', `A ${brand.name} card holds at most ${brand.balanceCapFen} fen.`, 'amountFen');
    }
    const random = hex(input.random, 4, 'random');
    const terminalId = hex(input.terminalId, 6, 'terminalId');
    const mac1 = hex(input.mac1, 4, 'mac1');
    const { date, time } = beijingDateTime(this.#clock());
    const keys = { loadKey: diversifyCardKey(brand.algorithm, this.#keys.load, input.cardNumber), tacKey: this.tacKey(input.cardNumber) };
    const macs = loadMacs(brand.algorithm, keys, { random, onlineSeq: input.onlineSeq, balanceFen: input.balanceFen },
      { amountFen: input.amountFen, terminalId, date, time });
    if (!equal(macs.mac1, mac1)) throw new TransitError('load_mac_invalid', 'MAC1 does not verify: the card did not ask for this load.', 'mac1');
    const previous = await this.#db.selectFrom('loads').selectAll().where('load_id', '=', input.loadId).executeTakeFirst();
    if (previous) {
      if (previous.card_number !== input.cardNumber || previous.amount_fen !== input.amountFen) {
        throw new TransitError('bad_request', 'This load id was used for another card or amount.', 'loadId');
      }
      // A later counter is fine only when another load is confirmed at the old one: then this one
      // was certainly never credited there. Otherwise the card may have credited it: its TAC decides.
      const counterTakenByAnother = input.onlineSeq > previous.online_seq && previous.status === 'signed'
        && await this.#db.selectFrom('loads').select('load_id').where('card_number', '=', input.cardNumber)
          .where('online_seq', '=', previous.online_seq).where('status', '=', 'confirmed').executeTakeFirst() !== undefined;
      if (previous.status === 'confirmed' || (input.onlineSeq !== previous.online_seq && !counterTakenByAnother)) {
        throw new TransitError('load_counter_moved', 'This load was already credited to the card (its counter moved on).', 'loadId',
          { online_seq: previous.online_seq });
      }
    }
    const row = {
      load_id: input.loadId, card_number: input.cardNumber, online_seq: input.onlineSeq, amount_fen: input.amountFen,
      balance_before_fen: input.balanceFen, random: input.random, terminal_id: input.terminalId, mac2: macs.mac2.toString('hex'),
      load_date: date, load_time: time, status: 'signed' as const, created_at: this.#clock(),
    };
    await this.#db.insertInto('loads').values(row).onConflict((c) => c.column('load_id').doUpdateSet({
      random: row.random, mac2: row.mac2, load_date: date, load_time: time, balance_before_fen: row.balance_before_fen, status: 'signed',
    })).execute();
    return { loadId: input.loadId, mac2: row.mac2, date, time };
  }

  /** A carry load: onto the card the moved card was carried to, of exactly its proven balance, under one load id. */
  async #checkCarry(input: LoadRequest): Promise<void> {
    const from = await this.#db.selectFrom('cards').select(['carried_to', 'proven_balance_fen', 'carry_load_id'])
      .where('card_number', '=', input.carriedFrom!).executeTakeFirst();
    if (!from || from.carried_to !== input.cardNumber) {
      throw new TransitError('carry_refused', `Card ${input.carriedFrom} was not carried to this card.`, 'carriedFrom');
    }
    if (from.proven_balance_fen !== input.amountFen) {
      throw new TransitError('carry_refused', `The moved card proved ${from.proven_balance_fen} fen; a carry load is exactly that.`, 'amountFen');
    }
    const claimed = await this.#db.updateTable('cards').set({ carry_load_id: input.loadId }).where('card_number', '=', input.carriedFrom!)
      .where((eb) => eb.or([eb('carry_load_id', 'is', null), eb('carry_load_id', '=', input.loadId)])).executeTakeFirst();
    if (claimed.numUpdatedRows === 0n) throw new TransitError('carry_refused', 'This balance was carried by another load.', 'loadId');
  }

  /** The card's load TAC: verified, then the load counts as on the card. */
  async confirmLoad(loadId: string, tacHex: string): Promise<{ status: 'confirmed' }> {
    const load = await this.#db.selectFrom('loads').selectAll().where('load_id', '=', loadId).executeTakeFirst();
    if (!load) throw new TransitError('load_not_found', `No load ${loadId}.`, 'loadId');
    if (load.status === 'confirmed') return { status: 'confirmed' };
    const tac = hex(tacHex, 4, 'tac');
    const macs = loadMacs(this.brand.algorithm, { loadKey: Buffer.alloc(16), tacKey: this.tacKey(load.card_number) },
      { random: Buffer.from(load.random, 'hex'), onlineSeq: load.online_seq, balanceFen: load.balance_before_fen },
      { amountFen: load.amount_fen, terminalId: Buffer.from(load.terminal_id, 'hex'), date: load.load_date, time: load.load_time });
    if (!equal(macs.tac, tac)) throw new TransitError('load_tac_invalid', 'The load TAC does not verify.', 'tac');
    await this.#db.updateTable('loads').set({ status: 'confirmed' }).where('load_id', '=', loadId).execute();
    return { status: 'confirmed' };
  }

  /** A signed load the card never credited (its counter did not move): void, so it never counts. */
  async voidLoad(loadId: string): Promise<{ status: 'voided' }> {
    const load = await this.#db.selectFrom('loads').select('status').where('load_id', '=', loadId).executeTakeFirst();
    if (!load) throw new TransitError('load_not_found', `No load ${loadId}.`, 'loadId');
    if (load.status === 'confirmed') throw new TransitError('load_counter_moved', 'This load is on the card; it cannot be voided.', 'loadId');
    await this.#db.updateTable('loads').set({ status: 'voided' }).where('load_id', '=', loadId).execute();
    return { status: 'voided' };
  }

  async block(cardNumber: string, reason: string): Promise<void> {
    await this.#db.insertInto('blacklist').values({ card_number: cardNumber, brand_code: this.brand.code, reason, created_at: this.#clock() })
      .onConflict((c) => c.column('card_number').doNothing()).execute();
  }

  async blacklist(): Promise<string[]> {
    const rows = await this.#db.selectFrom('blacklist').select('card_number').where('brand_code', '=', this.brand.code).orderBy('card_number').execute();
    return rows.map((r) => r.card_number);
  }

  /** Settled purchases and confirmed loads, newest first (at most 200). */
  async records(cardNumber: string): Promise<SettledRecord[]> {
    const purchases = await this.#db.selectFrom('settled_records').selectAll().where('card_number', '=', cardNumber)
      .orderBy('offline_seq', 'desc').limit(200).execute();
    const loads = await this.#db.selectFrom('loads').selectAll().where('card_number', '=', cardNumber).where('status', '=', 'confirmed')
      .orderBy('online_seq', 'desc').limit(200).execute();
    return [
      ...purchases.map((r) => ({ cardNumber, kind: 'purchase' as const, seq: r.offline_seq, amountFen: r.amount_fen, terminalId: r.terminal_id,
        date: r.tx_date, time: r.tx_time, description: r.description, settledAt: r.settled_at.toISOString() })),
      ...loads.map((r) => ({ cardNumber, kind: 'load' as const, seq: r.online_seq, amountFen: r.amount_fen, terminalId: r.terminal_id,
        date: r.load_date, time: r.load_time, description: null, settledAt: r.created_at.toISOString() })),
    ].sort((a, b) => `${b.date}${b.time}`.localeCompare(`${a.date}${a.time}`));
  }

  /** A fresh challenge the card's close proof must cover; asking again replaces it. */
  async closeChallenge(cardNumber: string): Promise<{ challenge: string }> {
    await this.#activeCard(cardNumber);
    const challenge = randomBytes(8).toString('hex');
    await this.#db.updateTable('cards').set({ close_challenge: challenge }).where('card_number', '=', cardNumber).where('status', '=', 'active').execute();
    return { challenge };
  }

  /**
   * The balance in the operator's books: confirmed loads less settled purchases, less a balance
   * carried to another card. `creditedBelowSeq`: signed loads under that online counter count
   * as credited too (the card's counter moved past them, as its close proof shows).
   */
  async #booksBalance(cardNumber: string, creditedBelowSeq?: number): Promise<bigint> {
    const loaded = await this.#db.selectFrom('loads').select((eb) => eb.fn.coalesce(eb.fn.sum<bigint>('amount_fen'), sql<bigint>`0`).as('fen'))
      .where('card_number', '=', cardNumber)
      .where((eb) => creditedBelowSeq === undefined ? eb('status', '=', 'confirmed')
        : eb.or([eb('status', '=', 'confirmed'), eb.and([eb('status', '=', 'signed'), eb('online_seq', '<', creditedBelowSeq)])]))
      .executeTakeFirstOrThrow();
    const spent = await this.#db.selectFrom('settled_records').select((eb) => eb.fn.coalesce(eb.fn.sum<bigint>('amount_fen'), sql<bigint>`0`).as('fen'))
      .where('card_number', '=', cardNumber).executeTakeFirstOrThrow();
    const card = await this.#db.selectFrom('cards').select(['carried_to', 'proven_balance_fen']).where('card_number', '=', cardNumber).executeTakeFirst();
    const carried = card?.carried_to ? card.proven_balance_fen ?? 0n : 0n;
    return BigInt(loaded.fen) - BigInt(spent.fen) - BigInt(carried);
  }

  /**
   * Closes a card moved to another phone or returned, and blacklists it so that no copy pays
   * again. With the card's close proof (a move needs one) the balance it proved is kept; the
   * proof must cover the last challenge, and cannot claim more than the card can hold: its books
   * (taps not yet uploaded only lower the true balance below them). Asked again, it answers as
   * the first time.
   */
  async closeCard(cardNumber: string, reason: CloseReason, proof?: CardCloseProof): Promise<ClosedCard> {
    const card = await this.#db.selectFrom('cards').selectAll().where('card_number', '=', cardNumber).executeTakeFirst();
    if (!card) throw new TransitError('card_unknown', `${this.brand.name} issued no card ${cardNumber}.`, 'cardNumber');
    if (card.status === 'closed') {
      if (card.close_reason !== reason) throw new TransitError('card_closed', `This card was already closed (${card.close_reason}).`, 'cardNumber');
      return this.#closed(cardNumber, reason, card.proven_balance_fen, card.closed_at!);
    }
    if (reason === 'moved' && !proof) throw new TransitError('close_proof_invalid', 'A move carries the balance the card proves: send its close proof.', 'proof');
    let proven: bigint | null = null;
    if (proof) {
      const challenge = hex(proof.challenge, 8, 'proof.challenge');
      if (!card.close_challenge || !equal(Buffer.from(card.close_challenge, 'hex'), challenge)) {
        throw new TransitError('close_proof_invalid', 'The proof does not cover this card\'s last close challenge; ask for a new one.', 'proof.challenge');
      }
      const data = closeProofData({ cardNumber, reason, balanceFen: proof.balanceFen, onlineSeq: proof.onlineSeq, offlineSeq: proof.offlineSeq, challenge });
      if (!equal(closeProofMac(this.brand.algorithm, this.tacKey(cardNumber), data), hex(proof.mac, 4, 'proof.mac'))) {
        throw new TransitError('close_proof_invalid', 'The close proof does not verify under the card\'s key.', 'proof.mac');
      }
      const books = await this.#booksBalance(cardNumber, proof.onlineSeq);
      if (proof.balanceFen > books) {
        throw new TransitError('close_proof_invalid', `The card claims ${proof.balanceFen} fen; its loads less its settled taps leave ${books}.`, 'proof');
      }
      proven = proof.balanceFen;
    }
    const closedAt = this.#clock();
    await this.#db.updateTable('cards').set({ status: 'closed', close_reason: reason, closed_at: closedAt, proven_balance_fen: proven, close_challenge: null })
      .where('card_number', '=', cardNumber).where('status', '=', 'active').execute();
    await this.block(cardNumber, reason);
    const stored = await this.#db.selectFrom('cards').selectAll().where('card_number', '=', cardNumber).executeTakeFirstOrThrow();
    if (stored.close_reason !== reason) throw new TransitError('card_closed', `This card was already closed (${stored.close_reason}).`, 'cardNumber');
    return this.#closed(cardNumber, reason, stored.proven_balance_fen, stored.closed_at!);
  }

  async #closed(cardNumber: string, reason: CloseReason, proven: bigint | null, closedAt: Date): Promise<ClosedCard> {
    return {
      cardNumber, reason, settledBalanceFen: await this.#booksBalance(cardNumber), provenBalanceFen: proven,
      finalAfter: new Date(closedAt.getTime() + FINAL_SETTLEMENT_DAYS * 86_400_000).toISOString(),
    };
  }

  /** A closed card's balance once every gate had its window to upload: what a return refunds. */
  async finalBalance(cardNumber: string): Promise<{ balanceFen: bigint }> {
    const card = await this.#db.selectFrom('cards').select(['status', 'closed_at']).where('card_number', '=', cardNumber).executeTakeFirst();
    if (!card) throw new TransitError('card_unknown', `${this.brand.name} issued no card ${cardNumber}.`, 'cardNumber');
    if (card.status !== 'closed') throw new TransitError('bad_request', 'The card is still active: close it first.', 'cardNumber');
    const finalAfter = new Date(card.closed_at!.getTime() + FINAL_SETTLEMENT_DAYS * 86_400_000);
    if (this.#clock() < finalAfter) {
      throw new TransitError('settlement_window_open', `Gates may still upload taps of this card until ${finalAfter.toISOString()}.`, 'cardNumber',
        { final_after: finalAfter.toISOString() });
    }
    const balance = await this.#booksBalance(cardNumber);
    return { balanceFen: balance > 0n ? balance : 0n };
  }
}

/** A random 6-byte terminal id for the platform's load terminal (the phone loads "online"). */
export function newTerminalId(): string {
  return randomBytes(6).toString('hex');
}
