/**
 * The bank party's interface for the platform (DESIGN section 1): look up a card's issuer,
 * verify the four elements of a card (name, ID number, card number, reserved phone) with an
 * SMS code sent by the bank to the reserved phone. The platform imports this file and nothing
 * else of the bank, and this file imports nothing else of the bank. Two implementations: over HTTP
 * (below) and in process (one `mipay up`, built by ./party.ts).
 */
import type { Logger } from '../infra/log/logger.ts';
import { createIso8583Client } from '../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';

export type CardKind = 'debit' | 'credit';
export type CardBrand = 'unionpay' | 'visa';

export interface CardLookup {
  bankCode: string;
  bankName: string;
  bankNameEn: string;
  kind: CardKind;
  brand: CardBrand;
  /** Which of this bank's cards Mi Pay may tokenize. */
  miPay: 'credit_and_debit' | 'credit_only' | 'unionpay_only';
}

export interface StartVerificationRequest {
  cardNumber: string;
  holderName: string;
  idNumber: string;
  reservedPhone: string;
  /** Who asks (e.g. the platform's user id); the same requester must confirm. */
  requester: string;
  purpose: 'payment_account' | 'verification_channel' | 'card_binding' | 'tokenization';
}

/** ID&V on a card the partner holds an agreement on: the code goes to the card's reserved phone. */
export interface StartAgreementVerificationRequest {
  agreementId: string;
  requester: string;
  purpose: 'tokenization';
}

/** What a token vault needs of the card behind an agreement. Card data: never logged. */
export interface TokenizationCardData {
  pan: string;
  expiryYymm: string;
  panSequence: string;
  cardRef: string;
}

export interface StartedVerification {
  verificationId: string;
  expiresAt: Date;
  phoneMasked: string;
}

export interface ConfirmVerificationRequest {
  verificationId: string;
  code: string;
  requester: string;
}

export interface VerifiedCard {
  /** The quick-pay agreement id the bank now knows this card by for this requester. */
  agreementId: string;
  /** The bank's stable id of the card (the same for every agreement on it); never its number. */
  cardRef: string;
  bankCode: string;
  bankName: string;
  kind: CardKind;
  brand: CardBrand;
  last4: string;
  maskedNumber: string;
  holderName: string;
  idNumber: string;
  reservedPhone: string;
  purpose: StartVerificationRequest['purpose'];
}

export type BankErrorCode =
  | 'card_unknown_bin'
  | 'card_not_found'
  | 'card_not_active'
  | 'card_expired'
  | 'holder_name_mismatch'
  | 'id_number_mismatch'
  | 'reserved_phone_mismatch'
  | 'verification_not_found'
  | 'code_wrong'
  | 'code_expired'
  | 'code_used'
  | 'code_burned'
  | 'rate_limited'
  | 'agreement_not_found'
  | 'reference_conflict'
  | 'reference_unknown'
  | 'bad_request'
  | 'unauthorized'
  | 'unavailable';

export interface AgreementTransferRequest {
  agreementId: string;
  /** `debit`: card → the partner's settlement account; `credit`: settlement account → card. */
  direction: 'debit' | 'credit';
  amountFen: bigint;
  /** The partner's unique reference: the movement happens once per reference. */
  reference: string;
}

export interface AgreementTransfer {
  transferId: string;
  reference: string;
  agreementId: string;
  direction: 'debit' | 'credit';
  amountFen: bigint;
  status: 'succeeded' | 'declined';
  declineCode: null | 'insufficient_funds' | 'card_not_active' | 'card_expired' | 'agreement_revoked' | 'settlement_insufficient'
    | 'quick_pay_single_limit' | 'quick_pay_daily_limit';
  createdAt: Date;
  /** With a quick-pay limit decline: the bank's limit the debit would have passed. */
  limitFen: bigint | null;
}

/** A refusal by the bank, as a value the caller handles (not a crash). */
export class BankError extends Error {
  readonly code: BankErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: BankErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'BankError';
    this.code = code;
    this.details = details;
  }
}

export interface BankClient {
  /** The issuer of a card number by its BIN, or undefined when no sandbox bank issues it. */
  lookupCard(cardNumber: string): Promise<CardLookup | undefined>;
  startVerification(request: StartVerificationRequest): Promise<StartedVerification>;
  confirmVerification(request: ConfirmVerificationRequest): Promise<VerifiedCard>;
  /** Moves money on a quick-pay agreement; a decline is an answer, not an error. */
  transferOnAgreement(request: AgreementTransferRequest): Promise<AgreementTransfer>;
  /** The outcome of a movement by its reference, or undefined when the bank never saw it. */
  findAgreementTransfer(reference: string): Promise<AgreementTransfer | undefined>;
  revokeAgreement(agreementId: string): Promise<void>;
  /** ID&V for tokenization: a code to the reserved phone of the agreement's card. */
  startAgreementVerification(request: StartAgreementVerificationRequest): Promise<StartedVerification>;
  /** The card number and expiry behind a live agreement, for the platform's token vault only. */
  getCardForTokenization(agreementId: string): Promise<TokenizationCardData>;
}

interface AgreementTransferWire {
  id: string; reference: string; agreement_id: string; direction: 'debit' | 'credit'; amount_fen: number;
  status: 'succeeded' | 'declined'; decline_code: AgreementTransfer['declineCode']; created_at: string; limit_fen?: number | null;
}

function agreementTransferFromWire(json: AgreementTransferWire): AgreementTransfer {
  return {
    transferId: json.id, reference: json.reference, agreementId: json.agreement_id, direction: json.direction,
    amountFen: BigInt(json.amount_fen), status: json.status, declineCode: json.decline_code, createdAt: new Date(json.created_at),
    limitFen: json.limit_fen === undefined || json.limit_fen === null ? null : BigInt(json.limit_fen),
  };
}

export interface HttpBankClientOptions {
  baseUrl: string;
  partnerKey: string;
  timeoutMs?: number;
}

/** The bank over HTTP JSON (its routes are in http.ts), authenticated by a partner key. */
export function createHttpBankClient(options: HttpBankClientOptions): BankClient {
  const timeoutMs = options.timeoutMs ?? 5_000;
  async function call<T>(path: string, body: unknown): Promise<{ status: number; json: T }> {
    return request<T>('POST', path, body);
  }
  async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: T }> {
    let response: Response;
    try {
      response = await fetch(new URL(path, options.baseUrl), {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), authorization: `Bearer ${options.partnerKey}` },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new BankError('unavailable', `The bank did not answer: ${(error as Error).message}`);
    }
    const json = (await response.json().catch(() => ({}))) as T & { error?: { code?: string; message?: string } & Record<string, unknown> };
    if (!response.ok) {
      const { code, message, type: _type, ...details } = json.error ?? {};
      throw new BankError((code as BankErrorCode) ?? 'unavailable', message ?? `bank answered HTTP ${response.status}`, details);
    }
    return { status: response.status, json };
  }
  return {
    async lookupCard(cardNumber) {
      const { json } = await call<{ card: null | { bank_code: string; bank_name: string; bank_name_en: string; kind: CardKind; brand: CardBrand; mi_pay: CardLookup['miPay'] } }>(
        '/v1/card-lookups', { card_number: cardNumber });
      if (!json.card) return undefined;
      return { bankCode: json.card.bank_code, bankName: json.card.bank_name, bankNameEn: json.card.bank_name_en, kind: json.card.kind, brand: json.card.brand, miPay: json.card.mi_pay };
    },
    async startVerification(request) {
      const { json } = await call<{ id: string; expires_at: string; phone_masked: string }>('/v1/card-verifications', {
        card_number: request.cardNumber,
        holder_name: request.holderName,
        id_number: request.idNumber,
        reserved_phone: request.reservedPhone,
        requester: request.requester,
        purpose: request.purpose,
      });
      return { verificationId: json.id, expiresAt: new Date(json.expires_at), phoneMasked: json.phone_masked };
    },
    async confirmVerification(request) {
      const { json } = await call<{
        agreement_id: string; card_ref: string; bank_code: string; bank_name: string; kind: CardKind; brand: CardBrand; last4: string;
        masked_number: string; holder_name: string; id_number: string; reserved_phone: string; purpose: VerifiedCard['purpose'];
      }>(`/v1/card-verifications/${encodeURIComponent(request.verificationId)}/confirm`, { code: request.code, requester: request.requester });
      return {
        agreementId: json.agreement_id, cardRef: json.card_ref, bankCode: json.bank_code, bankName: json.bank_name, kind: json.kind, brand: json.brand,
        last4: json.last4, maskedNumber: json.masked_number, holderName: json.holder_name, idNumber: json.id_number,
        reservedPhone: json.reserved_phone, purpose: json.purpose,
      };
    },
    async transferOnAgreement(transfer) {
      const { json } = await call<AgreementTransferWire>(`/v1/agreements/${encodeURIComponent(transfer.agreementId)}/transfers`, {
        direction: transfer.direction, amount_fen: Number(transfer.amountFen), reference: transfer.reference,
      });
      return agreementTransferFromWire(json);
    },
    async findAgreementTransfer(reference) {
      try {
        const { json } = await request<AgreementTransferWire>('GET', `/v1/agreement-transfers/${encodeURIComponent(reference)}`);
        return agreementTransferFromWire(json);
      } catch (error) {
        if (error instanceof BankError && error.code === 'reference_unknown') return undefined;
        throw error;
      }
    },
    async revokeAgreement(agreementId) {
      await call(`/v1/agreements/${encodeURIComponent(agreementId)}/revoke`, {});
    },
    async startAgreementVerification(request) {
      const { json } = await call<{ id: string; expires_at: string; phone_masked: string }>(
        `/v1/agreements/${encodeURIComponent(request.agreementId)}/verifications`, { requester: request.requester, purpose: request.purpose });
      return { verificationId: json.id, expiresAt: new Date(json.expires_at), phoneMasked: json.phone_masked };
    },
    async getCardForTokenization(agreementId) {
      const { json } = await call<{ pan: string; expiry: string; pan_sequence: string; card_ref: string }>(
        `/v1/agreements/${encodeURIComponent(agreementId)}/tokenization-data`, {});
      return { pan: json.pan, expiryYymm: json.expiry, panSequence: json.pan_sequence, cardRef: json.card_ref };
    },
  };
}

// Card payments: the ISO 8583 endpoint the network calls and the chip data of issued cards.
export { ChannelError } from '../infra/net/iso8583-channel.ts';

/** What the bank writes into a card's chip at issuance (sandbox: handed out so the card can be emulated). */
export interface CardPersonalization {
  pan: string;
  panSequence: string;
  expiryYymm: string;
  holderName: string;
  /** The cryptogram family of this card's keys: 3DES (EMV) or SM4 (PBOC 3.0). */
  acAlgorithm: 'tdes' | 'sm4';
  /** Cryptogram version number written into 9F10 byte 3. */
  cryptogramVersion: number;
  /** MK-AC, derived from the issuer master key by EMV Option A. */
  cardMasterKeyAcHex: string;
  /** The last ATC the bank has seen; the card continues from here. */
  atc: number;
  /** CTQ byte 1 bit 8: the card asks for online PIN whatever the amount. */
  onlinePinAlways: boolean;
}

/** The bank's ISO 8583 endpoint as the network sees it. */
export interface BankIso8583Client {
  /** Sends one request; rejects with ChannelError('timeout' | 'unreachable' | …) when no answer comes. */
  send(request: Iso8583Message, timeoutMs: number): Promise<Iso8583Message>;
  close(): Promise<void>;
}

/** The bank over TCP (2-byte length prefix, CUPS ASCII encoding); `keepAliveMs`: 0800 echoes on a quiet link. */
export function createTcpBankIso8583Client(options: {
  host: string | (() => string); port: number | (() => number); logger?: Logger; keepAliveMs?: number;
}): BankIso8583Client {
  const client = createIso8583Client(options);
  return { send: (request, timeoutMs) => client.request(request, timeoutMs), close: () => client.close() };
}
export { ResponseCode, type ResponseCodeValue } from '../protocols/iso8583/response-codes.ts';
