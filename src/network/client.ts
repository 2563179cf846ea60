/**
 * The network party's interface (DESIGN section 1). Terminals reach the network with ISO 8583
 * over TCP (BCD encoding, as POS terminals send it); the platform's token service plugs in
 * behind `TokenService`. Other parties import this file and nothing else of the network.
 */
import type { Logger } from '../infra/log/logger.ts';
import { createIso8583Client } from '../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';
import { CUPS_BCD_SPEC } from '../protocols/iso8583/spec.ts';

export { ChannelError } from '../infra/net/iso8583-channel.ts';
export type { TokenService, TokenAuthorizationRequest, TokenAuthorizationResult } from './token-service.ts';
export { TOKEN_BIN_PREFIX, isTokenPan, refusingTokenService } from './token-service.ts';

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
