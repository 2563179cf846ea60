// A transit gate or bus reader (DESIGN section 5): offline e-purse purchases with a PSAM —
// flat fare on a bus; on the metro, entry written to the card's trip record and the fare by
// distance charged at exit — the blacklist, an offline record store, and batch upload to the
// operator. A tap torn after DEBIT went out is finished at the card's next tap with GET
// TRANSACTION PROVE: if the card debited, its TAC completes the record (never charged twice);
// if not, the tap never happened (never lost either way).
import {
  SW, debitForPurchase, decodeResponseApdu, encodeCommandApdu, getBalance, getTransactionProve, initializeForCappPurchase,
  initializeForPurchase,
  readBinary, selectByName, updateCappDataCache, DEBIT_FOR_PURCHASE_RESPONSE, GET_TRANSACTION_PROVE_RESPONSE,
  INITIALIZE_FOR_PURCHASE_RESPONSE, type CommandApdu, type ResponseApdu,
} from '../../protocols/apdu.ts';
import { EPURSE_FILE, ISSUER_FILE, TRANSACTION_TYPE, TRIP_RECORD, TRIP_RECORD_NUMBER, TRIP_STATE } from '../../protocols/epurse/index.ts';
import type { BrandWire, TapRecord, TransitOperatorClient } from '../../transit/client.ts';
import type { ContactlessCard } from '../../protocols/contactless.ts';
import type { Psam } from './psam.ts';
import { GateRecordStore, UNSENT_RECORDS_MAX } from './record-store.ts';

export type GateMode = { kind: 'bus' } | { kind: 'metro-entry'; station: number } | { kind: 'metro-exit'; station: number };

export type TapOutcome =
  | { outcome: 'charged'; cardNumber: string; amountFen: bigint; balanceFen: bigint; offlineSeq: number; recovered: boolean }
  | { outcome: 'entered'; cardNumber: string; balanceFen: bigint; offlineSeq: number; recovered: boolean }
  | { outcome: 'refused'; reason: 'no_card' | 'blacklisted' | 'insufficient_balance' | 'not_accepted' | 'card_error' | 'store_full'; cardNumber?: string; detail?: string }
  | { outcome: 'torn'; cardNumber?: string; step: 'select' | 'read' | 'initialize' | 'debit' };

/** The card left the field mid-exchange (or answered garbage): the transport failed. */
class Tear extends Error {}

export interface GateOptions {
  gateId: string;
  /** The operator this gate belongs to (its brand), and the T-Union AID too for a T-Union city. */
  brand: BrandWire;
  mode: GateMode;
  psam: Psam;
  store: GateRecordStore;
  /** AIDs this gate selects, in order (its own brand's, then T-Union's). */
  aids: readonly string[];
  /** Trip-file SFI by AID (0x17 for T-Union, the brand's for a city card). */
  tripSfi: (aid: string) => number;
  clock?: () => Date;
}

function beijing(now: Date): { date: string; time: string } {
  const t = new Date(now.getTime() + 8 * 3600_000).toISOString();
  return { date: t.slice(0, 10).replaceAll('-', ''), time: t.slice(11, 19).replaceAll(':', '') };
}

export class TransitGate {
  readonly #o: GateOptions;
  readonly #clock: () => Date;
  #blacklist = new Set<string>();

  constructor(options: GateOptions) {
    this.#o = options;
    this.#clock = options.clock ?? (() => new Date());
  }

  get records() {
    return this.#o.store.data;
  }

  async #send(card: ContactlessCard, command: CommandApdu): Promise<ResponseApdu> {
    try {
      return decodeResponseApdu(await card.transmit(encodeCommandApdu(command)));
    } catch {
      throw new Tear();
    }
  }

  async tap(card: ContactlessCard): Promise<TapOutcome> {
    let step: 'select' | 'read' | 'initialize' | 'debit' = 'select';
    let cardNumber: string | undefined;
    try {
      let aid: string | undefined;
      for (const candidate of this.#o.aids) {
        if ((await this.#send(card, selectByName(Buffer.from(candidate, 'hex')))).sw === SW.OK) { aid = candidate; break; }
      }
      if (!aid) return { outcome: 'refused', reason: 'no_card' };
      step = 'read';
      const issuer = await this.#send(card, readBinary(EPURSE_FILE.issuer, 0, ISSUER_FILE.byteLength));
      if (issuer.sw !== SW.OK) return { outcome: 'refused', reason: 'card_error', detail: 'file 0x15 unreadable' };
      cardNumber = ISSUER_FILE.decode(issuer.data).cardNumber.replace(/^0+(?=[0-9]{16}$)/, '');
      if (this.#blacklist.has(cardNumber)) return { outcome: 'refused', reason: 'blacklisted', cardNumber };
      if (!this.#o.psam.accepts(cardNumber)) return { outcome: 'refused', reason: 'not_accepted', cardNumber };
      const recovered = await this.#finishTorn(card, cardNumber);
      if (recovered) return recovered;
      if (this.#o.store.data.unsent.length >= UNSENT_RECORDS_MAX) return { outcome: 'refused', reason: 'store_full', cardNumber };
      step = 'initialize';
      return await this.#purchase(card, cardNumber, aid, (s) => { step = s; });
    } catch (error) {
      if (error instanceof Tear) return cardNumber === undefined ? { outcome: 'torn', step } : { outcome: 'torn', cardNumber, step };
      throw error;
    }
  }

  /** The fare and the trip record to write, by the gate's mode and the card's trip record. */
  async #fare(card: ContactlessCard, aid: string): Promise<{ amountFen: bigint; trip: Buffer | null; description: string }> {
    const mode = this.#o.mode;
    const { date, time } = beijing(this.#clock());
    const metro = this.#o.brand.fares.metro;
    if (mode.kind === 'bus' || !metro) return { amountFen: this.#o.brand.fares.busFen, trip: null, description: `bus ${this.#o.gateId}` };
    const station = (id: number) => metro.stations.find((s) => s.id === id)?.name ?? `station ${id}`;
    const trip = (state: number) => TRIP_RECORD.encode({ state, station: mode.station, terminalId: this.#o.psam.terminalId, date, time });
    if (mode.kind === 'metro-entry') return { amountFen: 0n, trip: trip(TRIP_STATE.in), description: `enter ${station(mode.station)}` };
    const read = await this.#send(card, readBinary(this.#tripSfi(aid), 0, TRIP_RECORD.byteLength));
    const entered = read.sw === SW.OK && read.data.length === TRIP_RECORD.byteLength ? TRIP_RECORD.decode(read.data) : undefined;
    // No entry on the card (or a stale one): the maximum fare, as metros charge.
    const fare = entered?.state === TRIP_STATE.in ? metroFare(metro, entered.station, mode.station) : metro.maxFareFen;
    const from = entered?.state === TRIP_STATE.in ? station(entered.station) : '(no entry)';
    return { amountFen: fare, trip: trip(TRIP_STATE.out), description: `${from} → ${station(mode.station)}` };
  }

  #tripSfi(aid: string): number {
    return this.#o.tripSfi(aid);
  }

  async #purchase(card: ContactlessCard, cardNumber: string, aid: string, at: (s: 'initialize' | 'debit') => void): Promise<TapOutcome> {
    const { amountFen, trip, description } = await this.#fare(card, aid);
    const capp = trip !== null;
    const psam = this.#o.psam;
    const initData = { keyIndex: 1, amountFen, terminalId: psam.terminalId };
    const init = await this.#send(card, capp ? initializeForCappPurchase(initData) : initializeForPurchase(initData));
    if (init.sw === SW.PBOC_INSUFFICIENT_BALANCE) return { outcome: 'refused', reason: 'insufficient_balance', cardNumber };
    if (init.sw !== SW.OK) return { outcome: 'refused', reason: 'card_error', cardNumber, detail: `INITIALIZE ${init.sw.toString(16)}` };
    const r = INITIALIZE_FOR_PURCHASE_RESPONSE.decode(init.data);
    const { date, time } = beijing(this.#clock());
    const transactionType = capp ? TRANSACTION_TYPE.cappPurchase : TRANSACTION_TYPE.purchase;
    const { mac1, session } = psam.mac1({ cardNumber, random: r.random, offlineSeq: r.offlineSeq, amountFen, transactionType, date, time });
    if (capp) {
      const cached = await this.#send(card, updateCappDataCache(this.#tripSfi(aid), TRIP_RECORD_NUMBER, trip));
      if (cached.sw !== SW.OK) return { outcome: 'refused', reason: 'card_error', cardNumber, detail: `UPDATE CAPP DATA CACHE ${cached.sw.toString(16)}` };
    }
    // Written before the DEBIT goes out: if the answer never comes, the next tap asks the card.
    const record: Omit<TapRecord, 'tac'> = {
      cardNumber, offlineSeq: r.offlineSeq, amountFen, transactionType, terminalId: psam.terminalId.toString('hex'),
      terminalSeq: session.facts.terminalSeq, date, time, description,
    };
    const store = this.#o.store;
    store.data.pending = [...store.data.pending.filter((p) => p.record.cardNumber !== cardNumber), { record, trip: trip?.toString('hex') ?? null }];
    store.data.terminalSeq = psam.terminalSeq;
    store.save();
    at('debit');
    const debit = await this.#send(card, debitForPurchase({ terminalSeq: session.facts.terminalSeq, date, time, mac1 }));
    if (debit.sw !== SW.OK) {
      this.#dropPending(cardNumber);
      return { outcome: 'refused', reason: 'card_error', cardNumber, detail: `DEBIT ${debit.sw.toString(16)}` };
    }
    const { tac, mac2 } = DEBIT_FOR_PURCHASE_RESPONSE.decode(debit.data);
    if (!psam.verifyMac2(session, mac2)) {
      // The card's answer does not prove the debit: the pending tap stays, for the card's TAC to settle or not.
      return { outcome: 'refused', reason: 'card_error', cardNumber, detail: 'MAC2 does not verify' };
    }
    this.#complete(cardNumber, { ...record, tac: tac.toString('hex') });
    const balanceFen = r.balanceFen - amountFen;
    if (amountFen === 0n && this.#o.mode.kind === 'metro-entry') return { outcome: 'entered', cardNumber, balanceFen, offlineSeq: r.offlineSeq, recovered: false };
    return { outcome: 'charged', cardNumber, amountFen, balanceFen, offlineSeq: r.offlineSeq, recovered: false };
  }

  /** A tap of this card was torn after DEBIT: did the card debit? GET TRANSACTION PROVE says. */
  async #finishTorn(card: ContactlessCard, cardNumber: string): Promise<TapOutcome | undefined> {
    const pending = this.#o.store.data.pending.find((p) => p.record.cardNumber === cardNumber);
    if (!pending) return undefined;
    const prove = await this.#send(card, getTransactionProve(pending.record.transactionType, pending.record.offlineSeq));
    if (prove.sw !== SW.OK) {
      // The card never debited: nothing happened; this tap starts afresh.
      this.#dropPending(cardNumber);
      return undefined;
    }
    const { tac } = GET_TRANSACTION_PROVE_RESPONSE.decode(prove.data);
    this.#complete(cardNumber, { ...pending.record, tac: tac.toString('hex') });
    const balance = await this.#send(card, getBalance());
    const balanceFen = balance.sw === SW.OK ? BigInt(balance.data.readUInt32BE(0)) : -1n;
    const { amountFen, offlineSeq } = pending.record;
    if (pending.record.amountFen === 0n && this.#o.mode.kind === 'metro-entry') return { outcome: 'entered', cardNumber, balanceFen, offlineSeq, recovered: true };
    return { outcome: 'charged', cardNumber, amountFen, balanceFen, offlineSeq, recovered: true };
  }

  #complete(cardNumber: string, record: TapRecord): void {
    const store = this.#o.store;
    store.data.pending = store.data.pending.filter((p) => p.record.cardNumber !== cardNumber);
    store.data.unsent.push(record);
    store.save();
  }

  #dropPending(cardNumber: string): void {
    const store = this.#o.store;
    store.data.pending = store.data.pending.filter((p) => p.record.cardNumber !== cardNumber);
    store.save();
  }

  /** Fetches the operator's blacklist (when connected). */
  async refreshBlacklist(operator: TransitOperatorClient): Promise<number> {
    this.#blacklist = new Set(await operator.blacklist(this.#o.brand.code));
    return this.#blacklist.size;
  }

  /**
   * Uploads the unsent records in batches. A batch the operator answered leaves the store
   * (refused records kept apart with their reason); an unreachable operator leaves everything.
   */
  async upload(operator: TransitOperatorClient, batchSizeMax = 5_000): Promise<{ settled: number; cleared: number; refused: number }> {
    const store = this.#o.store;
    const totals = { settled: 0, cleared: 0, refused: 0 };
    while (store.data.unsent.length > 0) {
      const batch = store.data.unsent.slice(0, batchSizeMax);
      const result = await operator.upload({ gateId: this.#o.gateId, brandCode: this.#o.brand.code, records: batch });
      const reasons = new Map(result.rejected.map((r) => [`${r.cardNumber}:${r.offlineSeq}`, r.reason]));
      for (const record of batch) {
        const reason = reasons.get(`${record.cardNumber}:${record.offlineSeq}`);
        if (reason) store.data.refused.push({ ...record, reason });
      }
      store.data.unsent = store.data.unsent.slice(batch.length);
      store.data.uploadedCount += batch.length;
      store.save();
      totals.settled += result.settled;
      totals.cleared += result.cleared;
      totals.refused += result.rejected.length;
    }
    return totals;
  }
}

function metroFare(model: NonNullable<BrandWire['fares']['metro']>, from: number, to: number): bigint {
  const a = model.stations.find((s) => s.id === from);
  const b = model.stations.find((s) => s.id === to);
  if (!a || !b) return model.maxFareFen;
  const km = Math.abs(a.km - b.km);
  return model.bands.find((band) => km <= band.upToKm)?.fareFen ?? model.maxFareFen;
}
