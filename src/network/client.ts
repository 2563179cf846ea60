/**
 * The network party's interface (DESIGN section 1). Terminals reach the network with ISO 8583
 * over TCP (BCD encoding, as POS terminals send it). UnionPay's TSP (src/network/tsp) is a
 * party of the network: the switch asks it through `TokenService`, the wallet server through
 * `TokenServiceClient`, and it tells the wallet server through `WalletServerPort`. Other parties import this file and nothing else of the network.
 */
import type { Logger } from '../infra/log/logger.ts';
import { createIso8583Client } from '../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';
import { CUPS_BCD_SPEC } from '../protocols/iso8583/spec.ts';

export { ChannelError } from '../infra/net/iso8583-channel.ts';
import { TokenServiceError, type TokenServiceClient, type TokenServiceIssuerFace } from './token-service.ts';

export type {
  ArpcInput, BankLifecycleRequest, DeviceCardTokenStatus, DeviceCardTransactionNotice, IssuedKeyBatch, ProvisionedToken, TokenAuthorizationRequest,
  TokenAuthorizationResult, TokenService, TokenServiceClient, TokenServiceIssuerFace, WalletServerPort,
} from './token-service.ts';
export { TOKEN_BIN_PREFIX, TokenServiceError, isTokenPan, refusingTokenService } from './token-service.ts';

/** How a terminal's requests reach the network and its answers come back. */
export interface NetworkClient {
  send(request: Iso8583Message, timeoutMs: number): Promise<Iso8583Message>;
  close(): Promise<void>;
}

/** The spec terminals and the network speak: CUPS fields, BCD numerics. */
export const TERMINAL_SPEC = CUPS_BCD_SPEC;

export { formatWorkingKeys, readWorkingKeys, signOnMacKey, type WorkingKeys } from './working-keys.ts';

/** A terminal's line to the network; it sends an 0800 echo after `keepAliveMs` (default 30 s) of quiet. */
export function createTcpNetworkClient(options: {
  host: string | (() => string); port: number | (() => number); logger?: Logger; keepAliveMs?: number;
}): NetworkClient {
  const client = createIso8583Client({ keepAliveMs: 30_000, ...options, spec: TERMINAL_SPEC });
  return { send: (request, timeoutMs) => client.request(request, timeoutMs), close: () => client.close() };
}

/** A terminal as the acquirer registered it: ids, merchant, and the terminal master key loaded into it at the key ceremony. */
export interface RegisteredTerminal {
  terminalId: string;
  merchantId: string;
  merchantName: string;
  mcc: string;
  /** TMK (3DES): sign-ons deliver the working keys (TPK, TAK) encrypted under it (working-keys.ts). */
  terminalMasterKey: Buffer;
}

/**
 * The TSP over HTTP (its face, src/network/tsp/http.ts), as the wallet server calls it:
 * `Authorization: Bearer <wallet-provider key>` (the keyring's `tsp.wallet-provider-key`, see
 * `walletProviderKey`). A refusal comes back as `TokenServiceError`; a TSP that does not
 * answer (network, timeout, 5xx) as a plain Error.
 */
export function createHttpTokenServiceClient(options: { baseUrl: string | (() => string); key: string; timeoutMs?: number }): TokenServiceClient & TokenServiceIssuerFace {
  const timeoutMs = options.timeoutMs ?? 5_000;
  async function call<T>(path: string, body: unknown): Promise<T> {
    const base = typeof options.baseUrl === 'function' ? options.baseUrl() : options.baseUrl;
    const response = await fetch(new URL(path, base), {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}` },
      body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
    });
    const json = (await response.json().catch(() => ({}))) as T & { error?: { code?: string; message?: string } };
    if (response.ok) return json;
    const code = json.error?.code;
    const refusals: readonly string[] = ['token_not_found', 'token_not_active', 'atc_exhausted', 'too_many_live_batches', 'parameter_invalid'];
    if (response.status < 500 && code && refusals.includes(code)) {
      throw new TokenServiceError(code as TokenServiceError['code'], json.error?.message ?? code);
    }
    throw new Error(`the TSP answered HTTP ${response.status}${code ? ` (${code})` : ''}`);
  }
  return {
    provision: (request) => call('/v1/tokens', request),
    replenish: (request) => call(`/v1/tokens/${encodeURIComponent(request.tokenReferenceId)}/key-batches`, request),
    changeStatus: async (request) => { await call(`/v1/tokens/${encodeURIComponent(request.tokenReferenceId)}/status`, request); },
    liveKeyBatches: async (tokenReferenceIds) => (await call<{ data: Record<string, string[]> }>('/v1/live-key-batches', { tokenReferenceIds })).data,
    changeByBank: async (request) => (await call<{ data: Awaited<ReturnType<TokenServiceIssuerFace['changeByBank']>> }>('/v1/issuer/token-actions', request)).data,
  };
}

/** The key the wallet server presents to the TSP's HTTP face, from the keyring entry `tsp.wallet-provider-key`. */
export function walletProviderKey(keyring: { key(name: string, lengthBytes: number): Buffer }): string {
  return `wpk_${keyring.key('tsp.wallet-provider-key', 24).toString('base64url')}`;
}
