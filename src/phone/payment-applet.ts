// The phone's payment applet: what answers the POS reader over NFC (DESIGN section 4). It runs
// the same qPBOC application as a plastic card (src/protocols/emv/qpboc-card.ts); what makes it
// a phone is where the ATC and its session key come from — one limited-use key from the secure
// element per tap, taken only when a card was picked and a fingerprint armed the phone less than
// 60 s ago, and the phone disarmed in the same write — and the CTQ, which says "consumer device
// CVM performed" so no PIN is asked.
import { SW } from '../protocols/apdu.ts';
import { QpbocCardApplication, UNIONPAY_CREDIT_AID, UNIONPAY_DEBIT_AID, type QpbocCardSource } from '../protocols/emv/qpboc-card.ts';
import type { ContactlessCard } from '../protocols/contactless.ts';
import type { PhoneState, StoredDeviceCard } from './phone-state.ts';

/** The secure element as the applet sees it: the live state, and a synchronous write of it. */
export interface AppletStore {
  readonly state: PhoneState;
  /** Persists `state` durably before returning (the applet answers only after it). */
  save(): void;
}

/** EMV 9C transaction type of a refund (ISO 8583 processing code 20xxxx). */
const REFUND_TRANSACTION_TYPE = '20';

/** CTQ 9F6C: byte 1 no online PIN, no signature; byte 2 bit 8 consumer device CVM performed (qPBOC). */
const CTQ_CDCVM_PERFORMED = Buffer.from([0x00, 0x80]);

/** Drops keys whose batch has expired; answers whether any were dropped. */
export function dropExpiredKeys(card: StoredDeviceCard, now: Date): boolean {
  const before = card.luks.length;
  // The keys of a batch share one expiry: each distinct one is parsed once (this runs at every tap).
  const live = new Map<string, boolean>();
  const nowMs = now.getTime();
  card.luks = card.luks.filter((luk) => {
    let alive = live.get(luk.expiresAt);
    if (alive === undefined) live.set(luk.expiresAt, alive = new Date(luk.expiresAt).getTime() > nowMs);
    return alive;
  });
  return card.luks.length !== before;
}

/** Keys are kept lowest ATC first; sorted again only when something added them out of order. */
function sortByAtc(card: StoredDeviceCard): void {
  for (let i = 1; i < card.luks.length; i++) {
    if (card.luks[i - 1]!.atc > card.luks[i]!.atc) {
      card.luks.sort((a, b) => a.atc - b.atc);
      return;
    }
  }
}

/** The card a reader sees when it selects: the picked one, else (nothing picked: GPO will refuse) the first active one. */
function cardInField(state: PhoneState): StoredDeviceCard | undefined {
  const picked = state.pay.selectedCardId ? state.cards.find((c) => c.id === state.pay.selectedCardId) : undefined;
  return picked ?? state.cards.find((c) => c.status === 'active');
}

export class PaymentApplet implements ContactlessCard {
  readonly #store: AppletStore;
  readonly #clock: () => Date;
  #application: QpbocCardApplication | undefined;

  constructor(store: AppletStore, clock: () => Date = () => new Date()) {
    this.#store = store;
    this.#clock = clock;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    // A SELECT starts (or restarts) a transaction: the application is built for the card in the field now.
    if (command.length >= 4 && command[0] === 0x00 && command[1] === 0xa4 && command[2] === 0x04) {
      this.#application?.reset();
      const card = cardInField(this.#store.state);
      this.#application = card ? this.#applicationFor(card) : undefined;
    }
    if (!this.#application) return Buffer.from([SW.FILE_NOT_FOUND >> 8, SW.FILE_NOT_FOUND & 0xff]);
    return this.#application.process(command);
  }

  /** The phone leaves the reader's field. */
  reset(): void {
    this.#application?.reset();
    this.#application = undefined;
  }

  #applicationFor(card: StoredDeviceCard): QpbocCardApplication {
    return new QpbocCardApplication({
      pan: card.tokenNumber, expiryYymm: card.expiryYymm, panSequence: card.panSequence,
      aid: card.cardKind === 'credit' ? UNIONPAY_CREDIT_AID : UNIONPAY_DEBIT_AID,
      cryptogramVersion: card.algorithm === 'sm4' ? 4 : 1, algorithm: card.algorithm,
    }, this.#source(card.id));
  }

  #source(cardId: string): QpbocCardSource {
    return {
      beginTransaction: (transaction) => this.#takeKey(cardId, transaction.type),
      cardTransactionQualifiers: () => Buffer.from(CTQ_CDCVM_PERFORMED),
    };
  }

  /**
   * GET PROCESSING OPTIONS: the lowest unused, unexpired key of the picked card, removed from
   * the secure element and written to disk before the ATC goes out, so no ATC is used twice
   * even if the phone dies mid-tap. The same write disarms the phone — one tap per fingerprint,
   * whatever becomes of this transaction — so a tap costs one durable write, not two. The
   * transaction goes on to GENERATE AC with the key the application holds in memory.
   */
  #takeKey(cardId: string, transactionType: string): { atc: number; sessionKey: Buffer } | { refuse: number } {
    const state = this.#store.state;
    const now = this.#clock();
    const armedUntil = state.pay.armedUntil ? new Date(state.pay.armedUntil).getTime() : 0;
    if (state.pay.selectedCardId !== cardId || now.getTime() >= armedUntil) return { refuse: SW.CONDITIONS_NOT_SATISFIED };
    const card = state.cards.find((c) => c.id === cardId);
    if (!card) return { refuse: SW.CONDITIONS_NOT_SATISFIED };
    const isRefund = transactionType === REFUND_TRANSACTION_TYPE;
    // A suspended card still takes money back (a refund), as a blocked plastic card does; it never pays.
    if (card.status !== 'active' && !(card.status === 'suspended' && isRefund)) return { refuse: SW.SELECTED_FILE_INVALIDATED };
    if (state.pay.refundOnly && !isRefund) return { refuse: SW.CONDITIONS_NOT_SATISFIED };
    const dropped = dropExpiredKeys(card, now);
    sortByAtc(card);
    const luk = card.luks.shift();
    if (!luk) {
      if (dropped) this.#store.save();
      return { refuse: SW.REFERENCE_DATA_NOT_USABLE };
    }
    const pay = state.pay;
    state.pay = { selectedCardId: null, armedUntil: null };
    try {
      this.#store.save();
    } catch {
      // Not persisted, so not used: the key and the arm stay, and this tap fails.
      card.luks.unshift(luk);
      state.pay = pay;
      return { refuse: SW.NO_PRECISE_DIAGNOSIS };
    }
    return { atc: luk.atc, sessionKey: Buffer.from(luk.key, 'hex') };
  }
}
