// The phone's transit applets (DESIGN section 4): one PBOC e-purse application (JR/T 0025.2)
// per transit card, T-Union cards by JT/T 978, answering a gate's or bus reader's APDUs. The
// balance and the counters live in the secure element; every command that changes them (DEBIT
// FOR PURCHASE, CREDIT FOR LOAD) writes the state durably before it answers, so a tear after
// the answer left the card never loses the transaction, and GET TRANSACTION PROVE answers it.
// Express mode: the one express card answers with the screen off and no fingerprint; any
// other transit card answers only when the user picked it with a fingerprint.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DEBIT_FOR_PURCHASE_DATA, INITIALIZE_DATA, SW, CREDIT_FOR_LOAD_DATA, decodeCommandApdu, encodeResponseApdu,
  INITIALIZE_FOR_PURCHASE_RESPONSE, INITIALIZE_FOR_LOAD_RESPONSE, GET_BALANCE_RESPONSE, DEBIT_FOR_PURCHASE_RESPONSE,
  CREDIT_FOR_LOAD_RESPONSE, GET_TRANSACTION_PROVE_RESPONSE, ApduError, type CommandApdu,
} from '../protocols/apdu.ts';
import {
  ALGORITHM_ID, EPURSE_FILE, TRANSACTION_RECORD, TRANSACTION_RECORDS_MAX, TRANSACTION_TYPE, TRIP_RECORD, TRIP_RECORD_NUMBER,
  loadMacs, purchaseMacs, type TransactionTypeId,
} from '../protocols/epurse/index.ts';
import { encodeTlv, tlv } from '../protocols/tlv.ts';
import type { ContactlessCard } from '../protocols/contactless.ts';
import type { PhoneState, StoredTransitCard } from './phone-state.ts';
import type { AppletStore } from './payment-applet.ts';

/** The only purchase/load key index the phone's cards hold (JR/T 0025.2 allows several). */
export const TRANSIT_KEY_INDEX = 0x01;
/** Proofs kept for GET TRANSACTION PROVE: a tear is resolved at the same gate within seconds. */
const PROVES_MAX = 8;

/** How the phone is held to the reader: screen off (express only), or a transit card picked with a fingerprint. */
export interface TransitField {
  /** A transit card the user picked and confirmed with a fingerprint, or null (express only). */
  pickedCardId: string | null;
}

type Session =
  | { kind: 'purchase'; capp: boolean; amountFen: bigint; terminalId: Buffer; random: Buffer; offlineSeq: number; cache?: Buffer }
  | { kind: 'load'; amountFen: bigint; terminalId: Buffer; random: Buffer; onlineSeq: number; balanceFen: bigint };

const answer = (sw: number, data: Buffer = Buffer.alloc(0)): Buffer => encodeResponseApdu({ data, sw });
const equal = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/** Which transit cards may answer a reader now. */
export function cardsInField(state: PhoneState, field: TransitField): StoredTransitCard[] {
  return (state.transitCards ?? []).filter((c) => c.status === 'active' && (c.express || c.id === field.pickedCardId));
}

/** The bytes of one 0x18 record. */
function record(seq: number, amountFen: bigint, type: TransactionTypeId, terminalId: Buffer, date: string, time: string): string {
  return TRANSACTION_RECORD.encode({ seq, overdraftLimitFen: 0n, amountFen, transactionType: type, terminalId, date, time }).toString('hex');
}

export class TransitApplet implements ContactlessCard {
  readonly #store: AppletStore;
  readonly #field: TransitField;
  #card: StoredTransitCard | undefined;
  #session: Session | undefined;

  constructor(store: AppletStore, field: TransitField) {
    this.#store = store;
    this.#field = field;
  }

  async transmit(bytes: Buffer): Promise<Buffer> {
    let command: CommandApdu;
    try {
      command = decodeCommandApdu(bytes);
    } catch (error) {
      if (error instanceof ApduError) return answer(SW.WRONG_LENGTH);
      throw error;
    }
    if (command.cla === 0x00 && command.ins === 0xa4) return this.#select(command);
    const card = this.#card;
    if (!card || card.status !== 'active') return answer(SW.CONDITIONS_NOT_SATISFIED);
    const key = `${command.cla.toString(16)}${command.ins.toString(16)}`;
    try {
      switch (key) {
        case '0b0': return this.#readBinary(card, command);
        case '0b2': return this.#readRecord(card, command);
        case '805c': return answer(SW.OK, GET_BALANCE_RESPONSE.encode({ balanceFen: BigInt(card.balanceFen) }));
        case '8050': return this.#initialize(card, command);
        case '80dc': return this.#updateCache(command);
        case '8054': return this.#debit(card, command);
        case '8052': return this.#credit(card, command);
        case '805a': return this.#prove(card, command);
        default: return answer(SW.INS_NOT_SUPPORTED);
      }
    } catch (error) {
      if (error instanceof ApduError) return answer(SW.WRONG_LENGTH);
      throw error;
    }
  }

  /** The phone leaves the reader's field: an unfinished transaction is dropped. */
  reset(): void {
    this.#card = undefined;
    this.#session = undefined;
  }

  #select(command: CommandApdu): Buffer {
    this.reset();
    if (command.p1 !== 0x04) return answer(SW.INCORRECT_P1_P2);
    const aid = command.data.toString('hex').toUpperCase();
    const card = cardsInField(this.#store.state, this.#field).find((c) => c.aid.toUpperCase() === aid);
    if (!card) return answer(SW.FILE_NOT_FOUND);
    this.#card = card;
    // FCI: DF name, and 9F0C the issuer file as PBOC e-purse FCIs carry it.
    const fci = encodeTlv(tlv('6F', [tlv('84', Buffer.from(card.aid, 'hex')), tlv('A5', [tlv('9F0C', Buffer.from(card.issuerFile, 'hex'))])]));
    return answer(SW.OK, fci);
  }

  #readBinary(card: StoredTransitCard, command: CommandApdu): Buffer {
    if ((command.p1 & 0x80) === 0) return answer(SW.INCORRECT_P1_P2);
    const sfi = command.p1 & 0x1f;
    let file: Buffer;
    if (sfi === EPURSE_FILE.issuer) file = Buffer.from(card.issuerFile, 'hex');
    else if (sfi === card.tripSfi) file = card.tripRecord ? Buffer.from(card.tripRecord, 'hex') : Buffer.alloc(TRIP_RECORD.byteLength);
    else return answer(SW.FILE_NOT_FOUND);
    if (command.p2 >= file.length) return answer(SW.INCORRECT_P1_P2);
    return answer(SW.OK, file.subarray(command.p2, command.p2 + (command.le ?? 256)));
  }

  #readRecord(card: StoredTransitCard, command: CommandApdu): Buffer {
    if (command.p2 >> 3 !== EPURSE_FILE.transactions || (command.p2 & 0x07) !== 0x04) return answer(SW.FILE_NOT_FOUND);
    const stored = card.records[command.p1 - 1];
    if (command.p1 < 1 || !stored) return answer(SW.RECORD_NOT_FOUND);
    return answer(SW.OK, Buffer.from(stored, 'hex'));
  }

  #initialize(card: StoredTransitCard, command: CommandApdu): Buffer {
    this.#session = undefined;
    if (command.p2 !== 0x02 || ![0x00, 0x01, 0x03].includes(command.p1)) return answer(SW.INCORRECT_P1_P2);
    const data = INITIALIZE_DATA.decode(command.data);
    if (data.keyIndex !== TRANSIT_KEY_INDEX) return answer(SW.PBOC_KEY_INDEX_NOT_SUPPORTED);
    const balanceFen = BigInt(card.balanceFen);
    const random = randomBytes(4);
    const common = { keyVersion: card.keys.version, algorithmId: ALGORITHM_ID[card.algorithm], random };
    if (command.p1 === 0x00) {
      if (data.amountFen <= 0n || balanceFen + data.amountFen > BigInt(card.balanceCapFen)) return answer(SW.PBOC_BALANCE_LIMIT_EXCEEDED);
      const session = { kind: 'load' as const, amountFen: data.amountFen, terminalId: data.terminalId, random, onlineSeq: card.onlineSeq, balanceFen };
      const { mac1 } = loadMacs(card.algorithm, this.#loadKeys(card), session, { amountFen: data.amountFen, terminalId: data.terminalId, date: '00000000', time: '000000' });
      this.#session = session;
      return answer(SW.OK, INITIALIZE_FOR_LOAD_RESPONSE.encode({ balanceFen, onlineSeq: card.onlineSeq, ...common, mac1 }));
    }
    if (data.amountFen > balanceFen) return answer(SW.PBOC_INSUFFICIENT_BALANCE);
    this.#session = { kind: 'purchase', capp: command.p1 === 0x03, amountFen: data.amountFen, terminalId: data.terminalId, random, offlineSeq: card.offlineSeq };
    return answer(SW.OK, INITIALIZE_FOR_PURCHASE_RESPONSE.encode({ balanceFen, offlineSeq: card.offlineSeq, overdraftLimitFen: 0n, ...common }));
  }

  #updateCache(command: CommandApdu): Buffer {
    const session = this.#session;
    if (session?.kind !== 'purchase' || !session.capp) return answer(SW.CONDITIONS_NOT_SATISFIED);
    if (command.p2 >> 3 !== this.#card!.tripSfi || command.p1 !== TRIP_RECORD_NUMBER) return answer(SW.RECORD_NOT_FOUND);
    TRIP_RECORD.decode(command.data);
    session.cache = command.data;
    return answer(SW.OK);
  }

  #debit(card: StoredTransitCard, command: CommandApdu): Buffer {
    const session = this.#session;
    if (session?.kind !== 'purchase') return answer(SW.CONDITIONS_NOT_SATISFIED);
    this.#session = undefined; // one DEBIT per INITIALIZE, MAC right or wrong
    const data = DEBIT_FOR_PURCHASE_DATA.decode(command.data);
    const transactionType = session.capp ? TRANSACTION_TYPE.cappPurchase : TRANSACTION_TYPE.purchase;
    const facts = { amountFen: session.amountFen, transactionType, terminalId: session.terminalId, terminalSeq: data.terminalSeq, date: data.date, time: data.time };
    const macs = purchaseMacs(card.algorithm, { purchaseKey: Buffer.from(card.keys.purchase, 'hex'), tacKey: Buffer.from(card.keys.tac, 'hex') },
      { random: session.random, offlineSeq: session.offlineSeq }, facts);
    if (!equal(macs.mac1, data.mac1)) return answer(SW.PBOC_MAC_INVALID);
    const before = { ...card, records: card.records, proves: card.proves };
    card.balanceFen = String(BigInt(card.balanceFen) - session.amountFen);
    card.offlineSeq = (session.offlineSeq + 1) & 0xffff;
    card.records = [record(session.offlineSeq, session.amountFen, transactionType, session.terminalId, data.date, data.time), ...card.records].slice(0, TRANSACTION_RECORDS_MAX);
    card.proves = [{ transactionType, seq: session.offlineSeq, mac2: macs.mac2.toString('hex'), tac: macs.tac.toString('hex') }, ...card.proves].slice(0, PROVES_MAX);
    if (session.cache) card.tripRecord = session.cache.toString('hex');
    if (!this.#persist(card, before)) return answer(SW.NO_PRECISE_DIAGNOSIS);
    return answer(SW.OK, DEBIT_FOR_PURCHASE_RESPONSE.encode({ tac: macs.tac, mac2: macs.mac2 }));
  }

  #credit(card: StoredTransitCard, command: CommandApdu): Buffer {
    const session = this.#session;
    if (session?.kind !== 'load') return answer(SW.CONDITIONS_NOT_SATISFIED);
    this.#session = undefined;
    const data = CREDIT_FOR_LOAD_DATA.decode(command.data);
    const facts = { amountFen: session.amountFen, terminalId: session.terminalId, date: data.date, time: data.time };
    const macs = loadMacs(card.algorithm, this.#loadKeys(card), session, facts);
    if (!equal(macs.mac2, data.mac2)) return answer(SW.PBOC_MAC_INVALID);
    const before = { ...card, records: card.records, proves: card.proves };
    card.balanceFen = String(session.balanceFen + session.amountFen);
    card.onlineSeq = (session.onlineSeq + 1) & 0xffff;
    card.records = [record(session.onlineSeq, session.amountFen, TRANSACTION_TYPE.load, session.terminalId, data.date, data.time), ...card.records].slice(0, TRANSACTION_RECORDS_MAX);
    card.proves = [{ transactionType: TRANSACTION_TYPE.load, seq: session.onlineSeq, mac2: '00000000', tac: macs.tac.toString('hex') }, ...card.proves].slice(0, PROVES_MAX);
    if (!this.#persist(card, before)) return answer(SW.NO_PRECISE_DIAGNOSIS);
    return answer(SW.OK, CREDIT_FOR_LOAD_RESPONSE.encode({ tac: macs.tac }));
  }

  #prove(card: StoredTransitCard, command: CommandApdu): Buffer {
    if (command.data.length !== 2) return answer(SW.WRONG_LENGTH);
    const seq = command.data.readUInt16BE(0);
    const prove = card.proves.find((p) => p.seq === seq && p.transactionType === command.p2);
    if (!prove) return answer(SW.PBOC_MAC_UNAVAILABLE);
    return answer(SW.OK, GET_TRANSACTION_PROVE_RESPONSE.encode({ mac2: Buffer.from(prove.mac2, 'hex'), tac: Buffer.from(prove.tac, 'hex') }));
  }

  #loadKeys(card: StoredTransitCard) {
    return { loadKey: Buffer.from(card.keys.load, 'hex'), tacKey: Buffer.from(card.keys.tac, 'hex') };
  }

  /** Writes the card's new state; on failure puts the old one back: not persisted, not done. */
  #persist(card: StoredTransitCard, before: StoredTransitCard): boolean {
    try {
      this.#store.save();
      return true;
    } catch {
      Object.assign(card, before);
      return false;
    }
  }
}
