/**
 * Device cards (tokens) carry numbers from a BIN range the network reserves for them; the
 * network sends their authorizations to a token service (the platform's TSP,
 * src/platform/tokens/authorization.ts) which maps the token to the card number and verifies
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
    /**
     * Field 55 for the terminal's answer: 91 = ARPC under the token's session key ‖ ARC. The ARC
     * is the issuer's actual response code, known only once the bank has answered, so the
     * network calls this with it.
     */
    issuerAuthenticationData(responseCode: string): Buffer;
  }
  | { outcome: 'declined'; responseCode: string; reason: string };

export interface TokenService {
  /** Detokenize + verify the cryptogram and ATC; a decline is an answer, not an error. */
  authorize(request: TokenAuthorizationRequest): Promise<TokenAuthorizationResult>;
  /**
   * The card number behind a token, only to reverse at the issuer a request the network
   * forwarded but never recorded an answer for (it crashed, or the write failed); undefined for
   * an unknown token.
   */
  cardNumberForReversal(token: string): Promise<string | undefined>;
  /**
   * The wallet's reference of a token (what transaction notices name it by), or undefined for an
   * unknown token. Optional: a token service without it sends no notices (issue 12 hook).
   */
  tokenReferenceId?(token: string): Promise<string | undefined>;
}

/** Until a token service is configured: every token transaction is declined (05, NO_TSP). */
export const refusingTokenService: TokenService = {
  async authorize() {
    return { outcome: 'declined', responseCode: ResponseCode.DO_NOT_HONOUR, reason: 'NO_TSP' };
  },
  async cardNumberForReversal() {
    return undefined;
  },
};
