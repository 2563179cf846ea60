/**
 * The transit operators' interface (DESIGN section 1): the platform issues cards and has loads
 * signed through it; gates upload their offline taps and fetch the blacklist. Wire types, the
 * errors, and the HTTP client; other parties import this file and nothing else of the operators.
 */
import { epurseMac, tacSessionKey, type EpurseAlgorithm } from '../protocols/epurse/index.ts';

/** Fares of a brand: a flat bus fare, and a metro charged by distance between stations. */
export interface FareModel {
  busFen: bigint;
  metro?: {
    stations: readonly { id: number; name: string; km: number }[];
    /** Fare for a trip of at most `upToKm`, first band that fits; beyond the last, `maxFareFen`. */
    bands: readonly { upToKm: number; fareFen: bigint }[];
    maxFareFen: bigint;
  };
}

/** A transit brand as data (DESIGN section 6). */
export interface BrandWire {
  code: string;
  name: string;
  kind: 'city' | 'tunion';
  /** hex */
  aid: string;
  algorithm: 'tdes' | 'sm4';
  /** The first 8 digits of every card number of the brand: the issuer, for clearing. */
  cardPrefix: string;
  tripSfi: number;
  issueFeeFen: bigint;
  depositFen: bigint;
  topUpMinFen: bigint;
  topUpMaxFen: bigint;
  balanceCapFen: bigint;
  fares: FareModel;
  status: 'active' | 'retired';
  /** For a retired brand: the brand to issue instead (null: none, `note` says what to use). */
  replacement: { brandCode: string | null; note: string } | null;
}

/** A card personalised by its operator: number, public file 0x15, keys diversified by number. */
export interface IssuedCard {
  cardNumber: string;
  brandCode: string;
  /** hex, 30 bytes */
  issuerFile: string;
  keys: { purchase: string; load: string; tac: string; version: number };
}

/** The card's side of a load (from INITIALIZE FOR LOAD), for the operator to check and sign. */
export interface LoadRequest {
  /** The platform's id of this load (idempotency: the same id is signed at most once per card counter). */
  loadId: string;
  /**
   * A moved card's number: this load carries the balance that card proved when it was closed
   * (no top-up limits; signed for one load id only).
   */
  carriedFrom?: string;
  cardNumber: string;
  amountFen: bigint;
  balanceFen: bigint;
  onlineSeq: number;
  /** hex: 4-byte card random, 4-byte MAC1, 6-byte terminal id. */
  random: string;
  mac1: string;
  terminalId: string;
}

export interface SignedLoad {
  loadId: string;
  /** hex, 4 bytes, bound to the date and time below. */
  mac2: string;
  date: string;
  time: string;
}

/** One offline tap as a gate uploads it: what the card's TAC covers, and the TAC. */
export interface TapRecord {
  cardNumber: string;
  offlineSeq: number;
  amountFen: bigint;
  transactionType: number;
  /** hex, 6 bytes */
  terminalId: string;
  terminalSeq: number;
  date: string;
  time: string;
  /** hex, 4 bytes */
  tac: string;
  /** Station of a metro exit, for the record's description; absent on buses. */
  description?: string;
}

export type RejectReason = 'bad_tac' | 'duplicate' | 'unknown_card' | 'not_tunion';

export interface UploadResult {
  settled: number;
  /** Of the settled ones, how many went through the T-Union clearing centre to another city's issuer. */
  cleared: number;
  rejected: { cardNumber: string; offlineSeq: number; reason: RejectReason }[];
}

export interface SettledRecord {
  cardNumber: string;
  kind: 'purchase' | 'load';
  seq: number;
  amountFen: bigint;
  terminalId: string;
  date: string;
  time: string;
  description: string | null;
  settledAt: string;
}

export type TransitErrorCode =
  | 'bad_request' | 'unauthorized' | 'brand_unknown' | 'brand_retired' | 'card_unknown' | 'card_blocked' | 'card_closed'
  | 'load_out_of_limits' | 'load_mac_invalid' | 'load_counter_moved' | 'load_not_found' | 'load_tac_invalid' | 'unavailable'
  | 'close_proof_invalid' | 'carry_refused' | 'settlement_window_open';

/**
 * Days after a card is closed before the operator's books for it are final: gates upload their
 * offline taps within this window, so a returned card's balance is known only after it.
 */
export const FINAL_SETTLEMENT_DAYS = 7;

/** Why a card is closed: moved to another phone (its balance carried), or returned (refunded). */
export type CloseReason = 'moved' | 'returned';

/**
 * The card's own statement of its state when the phone closes it: balance and both counters,
 * bound to the operator's challenge and the reason, under the card's TAC key — so the operator
 * can believe the balance a move carries. JR/T 0025 has no such command (a real move goes
 * through the issuer's TSM); Mi Pay Open's phone computes it inside its secure element with the
 * same MAC as a TAC.
 */
export interface CardCloseProof {
  balanceFen: bigint;
  onlineSeq: number;
  offlineSeq: number;
  /** hex, 8 bytes, from `closeChallenge` */
  challenge: string;
  /** hex, 4 bytes */
  mac: string;
}

/** The bytes a close proof's MAC covers: card number (BCD, 10 bytes) ‖ reason ‖ balance ‖ online and offline counters ‖ challenge. */
export function closeProofData(input: { cardNumber: string; reason: CloseReason; balanceFen: bigint; onlineSeq: number; offlineSeq: number; challenge: Buffer }): Buffer {
  if (!/^[0-9]{1,20}$/.test(input.cardNumber)) throw new TransitError('bad_request', 'A transit card number is digits.', 'cardNumber');
  if (input.balanceFen < 0n || input.balanceFen > 0xffffffffn) throw new TransitError('bad_request', 'A balance fits 4 bytes.', 'balanceFen');
  const fixed = Buffer.alloc(9);
  fixed[0] = input.reason === 'moved' ? 0x01 : 0x02;
  fixed.writeUInt32BE(Number(input.balanceFen), 1);
  fixed.writeUInt16BE(input.onlineSeq & 0xffff, 5);
  fixed.writeUInt16BE(input.offlineSeq & 0xffff, 7);
  return Buffer.concat([Buffer.from(input.cardNumber.padStart(20, '0'), 'hex'), fixed, input.challenge]);
}

/** The close proof's MAC: the e-purse MAC under the card's TAC session key, as a TAC is computed. */
export function closeProofMac(algorithm: EpurseAlgorithm, tacKey: Buffer, data: Buffer): Buffer {
  return epurseMac(algorithm, tacSessionKey(algorithm, tacKey), data);
}

/** The operator's answer to a close: its books, the balance the card proved, and when the books are final. */
export interface ClosedCard {
  cardNumber: string;
  reason: CloseReason;
  /** Confirmed loads less settled purchases today (uploads may still come until `finalAfter`). */
  settledBalanceFen: bigint;
  /** The balance the card proved at closing, or null when it was closed without the phone. */
  provenBalanceFen: bigint | null;
  /** ISO 8601: from then on `finalBalance` answers. */
  finalAfter: string;
}

/** An operator's refusal; `param` names the field at fault. */
export class TransitError extends Error {
  override readonly name = 'TransitError';
  readonly code: TransitErrorCode;
  readonly param: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: TransitErrorCode, message: string, param?: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.param = param;
    this.details = details;
  }
}

/** What the platform and the gates may ask of the operators. */
export interface TransitOperatorClient {
  brands(): Promise<BrandWire[]>;
  /**
   * Personalises a new card; the same `requestId` gives back the same card. With `carriedFrom`
   * (a card of the brand closed as moved, with a proven balance) the new card is the one that
   * balance is carried to, once: `carriedFen` is what its carry load may credit.
   */
  issueCard(input: { brandCode: string; requestId: string; carriedFrom?: string }): Promise<IssuedCard & { carriedFen?: bigint }>;
  /** Verifies the card's MAC1 and answers MAC2 (JR/T 0025.2 load). */
  signLoad(input: LoadRequest): Promise<SignedLoad>;
  /** The card's TAC after CREDIT FOR LOAD: the operator counts the load as on the card. */
  confirmLoad(input: { loadId: string; tac: string }): Promise<{ status: 'confirmed' }>;
  /** The card never credited this signed load (its counter did not move): it is void. */
  voidLoad(input: { loadId: string }): Promise<{ status: 'voided' }>;
  upload(input: { gateId: string; brandCode: string; records: TapRecord[] }): Promise<UploadResult>;
  blacklist(brandCode: string): Promise<string[]>;
  block(input: { cardNumber: string; reason: string }): Promise<void>;
  /** Settled purchases and confirmed loads of a card, newest first. */
  records(cardNumber: string): Promise<SettledRecord[]>;
  /** A fresh challenge for the card's close proof (the last one asked is the one accepted). */
  closeChallenge(input: { cardNumber: string }): Promise<{ challenge: string }>;
  /**
   * Closes a card moved or returned, and blacklists it so no copy pays again. A move needs the
   * card's close proof (its balance is carried); a return may come without one (a lost phone).
   * Closing a closed card again answers as the first time.
   */
  closeCard(input: { cardNumber: string; reason: CloseReason; proof?: CardCloseProof }): Promise<ClosedCard>;
  /** A closed card's final balance in the operator's books, once its settlement window is over. */
  finalBalance(input: { cardNumber: string }): Promise<{ balanceFen: bigint }>;
}

// ---- the HTTP client ----

const money = new Set(['amountFen', 'balanceFen', 'issueFeeFen', 'depositFen', 'topUpMinFen', 'topUpMaxFen', 'balanceCapFen',
  'busFen', 'fareFen', 'maxFareFen', 'settledBalanceFen', 'provenBalanceFen', 'carriedFen']);

/** JSON with bigint money: amounts travel as decimal strings (`"1200"`), as everywhere in Mi Pay Open's APIs. */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}
export function fromWireJson<T>(text: string): T {
  return JSON.parse(text, (key, v) => (money.has(key) && typeof v === 'string' && /^-?[0-9]+$/.test(v) ? BigInt(v) : v)) as T;
}

export interface HttpTransitClientOptions {
  baseUrl: string | (() => string);
  /** The caller's operator API key (`Authorization: Bearer …`). */
  apiKey: string;
  timeoutMs?: number;
}

/** The operators over HTTP. */
export function createHttpTransitClient(options: HttpTransitClientOptions): TransitOperatorClient {
  const timeoutMs = options.timeoutMs ?? 5_000;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const base = typeof options.baseUrl === 'function' ? options.baseUrl() : options.baseUrl;
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: toWireJson(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new TransitError('unavailable', `The transit operator at ${base} cannot be reached: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      let error: { code?: string; message?: string; param?: string } = {};
      try {
        error = (JSON.parse(text) as { error: typeof error }).error ?? {};
      } catch { /* not JSON: the status says enough */ }
      const code = (error.code ?? (response.status >= 500 ? 'unavailable' : 'bad_request')) as TransitErrorCode;
      throw new TransitError(code, error.message ?? `The transit operator answered HTTP ${response.status}.`, error.param);
    }
    return fromWireJson<T>(text);
  }
  const enc = encodeURIComponent;
  return {
    brands: async () => (await call<{ data: BrandWire[] }>('GET', '/v1/brands')).data,
    issueCard: (input) => call('POST', '/v1/cards', input),
    signLoad: (input) => call('POST', '/v1/loads', input),
    confirmLoad: (input) => call('POST', `/v1/loads/${enc(input.loadId)}/confirm`, { tac: input.tac }),
    voidLoad: (input) => call('POST', `/v1/loads/${enc(input.loadId)}/void`, {}),
    upload: (input) => call('POST', '/v1/uploads', input),
    blacklist: async (brandCode) => (await call<{ data: string[] }>('GET', `/v1/blacklist?brand=${enc(brandCode)}`)).data,
    block: async (input) => { await call('POST', '/v1/blacklist', input); },
    records: async (cardNumber) => (await call<{ data: SettledRecord[] }>('GET', `/v1/cards/${enc(cardNumber)}/records`)).data,
    closeChallenge: (input) => call('POST', `/v1/cards/${enc(input.cardNumber)}/close-challenge`, {}),
    closeCard: (input) => call('POST', `/v1/cards/${enc(input.cardNumber)}/close`, { reason: input.reason, ...(input.proof ? { proof: input.proof } : {}) }),
    finalBalance: (input) => call('GET', `/v1/cards/${enc(input.cardNumber)}/final-balance`),
  };
}
