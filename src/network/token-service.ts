import type { CryptogramAlgorithm } from '../protocols/crypto/index.ts';
import type { SealedForDevice } from '../protocols/crypto/device-sealing.ts';

/**
 * Device cards (tokens) carry numbers from a BIN range the network reserves for them; the
 * network sends their authorizations to a token service (UnionPay's TSP,
 * src/network/tsp/authorization.ts) which maps the token to the card number and verifies
 * the device card's cryptogram and ATC on the issuer's behalf, before the network forwards the
 * request to the issuing bank.
 */
import { ResponseCode } from '../protocols/iso8583/response-codes.ts';

/** Reserved token BIN range: 629990–629999 (no sandbox bank issues from 6299). */
export const TOKEN_BIN_PREFIX = '62999';

export function isTokenPan(pan: string): boolean {
  return pan.startsWith(TOKEN_BIN_PREFIX);
}

export interface TokenAuthorizationRequest {
  token: string;
  tokenExpiryYymm: string | undefined;
  panSequence: string | undefined;
  /** Field 55 as the terminal sent it: ARQC, ATC, UN, amount, … under the token's keys. */
  iccData: Buffer | undefined;
  amountFen: bigint;
  /**
   * Field 3: the cryptogram covers the transaction type (9C, the processing code's first two
   * digits), so a purchase's cryptogram cannot be presented as a refund or the other way round.
   */
  processingCode: string;
  /** Field 22: the token domain check (device cards are contactless-POS only: 07x). */
  posEntryMode: string;
  terminalId: string;
  merchantId: string;
}

export type TokenAuthorizationResult =
  | {
    outcome: 'verified';
    pan: string;
    panExpiryYymm: string;
    panSequence: string;
    /** The TSP's id of the token (what the wallet server knows it by). */
    tokenRefId: string;
    /**
     * What the TSP needs to make field 55 of the terminal's answer once the issuer has answered
     * (`issuerAuthenticationData`): data only, no key, so the switch and the TSP can be apart.
     */
    arpcInput: ArpcInput;
  }
  | { outcome: 'declined'; responseCode: string; reason: string };

/** The ARQC's facts the ARPC is computed from (EMV ARPC method 1, under the session key of the ATC). */
export interface ArpcInput {
  token: string;
  tokenSequence: string;
  algorithm: CryptogramAlgorithm;
  atc: number;
  /** The ARQC (9F26), hex. */
  arqc: string;
}

export interface TokenService {
  /** Detokenize + verify the cryptogram and ATC; a decline is an answer, not an error. */
  authorize(request: TokenAuthorizationRequest): Promise<TokenAuthorizationResult>;
  /**
   * Field 55 for the terminal's answer: 91 = ARPC under the token's session key ‖ ARC. The ARC
   * is the issuer's actual response code, known only once the bank has answered, so the network
   * asks for it in this second call.
   */
  issuerAuthenticationData(input: ArpcInput, responseCode: string): Promise<Buffer>;
  /**
   * The final answer of a device card request, by token number (the TSP finds its reference):
   * best-effort, never awaited by the authorization; the TSP queues it for the wallet server.
   */
  authorizationCompleted?(completed: TokenTransactionCompleted): void;
  /**
   * The card number behind a token, only to reverse at the issuer a request the network
   * forwarded but never recorded an answer for (it crashed, or the write failed); undefined for
   * an unknown token.
   */
  cardNumberForReversal(token: string): Promise<string | undefined>;
}

/** Until a token service is configured: every token transaction is declined (05, NO_TSP). */
export const refusingTokenService: TokenService = {
  async authorize() {
    return { outcome: 'declined', responseCode: ResponseCode.DO_NOT_HONOUR, reason: 'NO_TSP' };
  },
  async cardNumberForReversal() {
    return undefined;
  },
  async issuerAuthenticationData() {
    throw new Error('no token service: nothing was verified');
  },
};

/** What the TSP tells the wallet server about one device card request, once its final answer is known. */
export interface DeviceCardTransactionNotice {
  tokenReferenceId: string;
  tokenLast4: string;
  kind: 'purchase' | 'refund' | 'reversal' | 'preauth' | 'completion';
  outcome: 'approved' | 'declined';
  responseCode: string;
  declineReason?: string;
  amountFen: number;
  merchantId: string;
  merchantName: string;
  mcc: string;
  terminalId: string;
  stan: string;
  rrn: string;
  /** For a refund, reversal or completion: the RRN of the sale (or hold) it belongs to. */
  originalRrn?: string;
  /** ISO 8601. */
  occurredAt: string;
}

/** A device card's status as the wallet server shows it. */
export type DeviceCardTokenStatus = 'active' | 'suspended' | 'deleted';

/** What the TSP calls on the wallet server (the platform implements it): lifecycle changes and transactions. */
export interface WalletServerPort {
  deviceCardStatusChanged(event: { tokenReferenceId: string; status: DeviceCardTokenStatus; reason: string }): Promise<void>;
  deviceCardTransaction(notice: DeviceCardTransactionNotice): Promise<void>;
}

export interface IssuedKeyBatch {
  id: string;
  atcFirst: number;
  keyCount: number;
  /** ISO 8601. */
  expiresAt: string;
  algorithm: CryptogramAlgorithm;
  /** Sealed to the device's P-256 key with AAD `mipay-luk-batch-v1\n<walletCardId>\n<batch id>`. */
  sealedKeys: SealedForDevice;
}

export interface ProvisionedToken {
  tokenReferenceId: string;
  tokenNumber: string;
  tokenLast4: string;
  panLast4: string;
  tokenExpiryYymm: string;
  tokenSequence: string;
  /** A key check value of the token's master key (3 bytes, hex); reveals nothing of the key. */
  keyCheckValue: string;
  batch: IssuedKeyBatch;
}

/**
 * The TSP as the wallet server sees it (`createInProcessTokenServiceClient`, or over HTTP with
 * `createHttpTokenServiceClient`). The wallet server passes the card data the issuer gave it
 * (after ID&V) through to the TSP and keeps none of it; it knows a token by its reference id.
 */
export interface TokenServiceClient {
  provision(request: {
    walletCardId: string; bankCode: string; card: { pan: string; expiryYymm: string; panSequence: string };
    devicePublicKey: string; keyCount: number;
  }): Promise<ProvisionedToken>;
  /**
   * A new key batch for an active token. Refused with `TokenServiceError` `token_not_active`,
   * `atc_exhausted` or `too_many_live_batches`.
   */
  replenish(request: { tokenReferenceId: string; walletCardId: string; devicePublicKey: string; keyCount: number }): Promise<IssuedKeyBatch>;
  /** The wallet's lifecycle change (user, device lost/found/deleted, logout); idempotent. `retireKeys` supersedes its live batches. */
  changeStatus(request: { tokenReferenceId: string; status: DeviceCardTokenStatus; reason: string; retireKeys?: boolean }): Promise<void>;
  /** Per token, the ids of its key batches the TSP still accepts. */
  liveKeyBatches(tokenReferenceIds: readonly string[]): Promise<Record<string, string[]>>;
}

/** An issuer's lifecycle call on every token of one of its card numbers. */
export interface BankLifecycleRequest {
  bankCode: string;
  pan: string;
  action: 'suspend' | 'resume' | 'delete';
  reason: 'card_lost' | 'card_found' | 'card_replaced' | 'card_closed';
}

/** The TSP as issuers see it: their cards' lifecycle (the TSP tells the wallet server of each token it changes). */
export interface TokenServiceIssuerFace {
  changeByBank(request: BankLifecycleRequest): Promise<Array<{ tokenReferenceId: string; walletCardId: string; tokenLast4: string; status: DeviceCardTokenStatus }>>;
}

/** A refusal of the TSP that the caller can act on. */
export class TokenServiceError extends Error {
  constructor(readonly code: 'token_not_found' | 'token_not_active' | 'atc_exhausted' | 'too_many_live_batches' | 'parameter_invalid', message: string) {
    super(message);
    this.name = 'TokenServiceError';
  }
}

/** What the switch tells the TSP of a device card request's final answer. */
export type TokenTransactionCompleted = Omit<DeviceCardTransactionNotice, 'tokenReferenceId' | 'tokenLast4'> & { token: string };
