import type { Logger } from '../../infra/log/logger.ts';
import { createIso8583Server, type Iso8583Server } from '../../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { hasValidMessageMac, withMessageMac } from '../../protocols/iso8583/message-mac.ts';
import { findBin } from '../banks.ts';
import type { IssuerAuthorizer } from './authorizer.ts';
import { buildResponse } from './request.ts';
import { ResponseCode } from '../../protocols/iso8583/response-codes.ts';

/**
 * Sandbox fault injection, for showing what the network does when an issuer goes quiet: the
 * bank still processes the request (money moves), but its answer is held back, as when a
 * response is lost on the line. Only 0100/0200 answers are delayed, never reversals.
 */
export class SandboxFaults {
  readonly #delays = new Map<string, number>();

  delayAnswers(pan: string, delayMs: number): void {
    this.#delays.set(pan, delayMs);
  }

  clear(pan: string): void {
    this.#delays.delete(pan);
  }

  delayFor(message: Iso8583Message): number {
    if (message.mti !== '0100' && message.mti !== '0200') return 0;
    const pan = message.fields[2];
    return typeof pan === 'string' ? (this.#delays.get(pan) ?? 0) : 0;
  }
}

/**
 * The banks' ISO 8583 endpoint over TCP, as the network reaches it. Every message but an 0800
 * echo must carry a MAC (64/128) under the zone MAC key of the bank that issued the card in
 * field 2 (the keyring's `zone.<bank>.mak`, which the network reads too): anything else is
 * answered A0 and goes no further. That makes this link the only door to the authorizer, and so
 * the only place field 60 `TSPV` (a token service verified the cryptogram) can come from. The
 * answers carry the same zone MAC.
 */
export function createBankIsoEndpoint(options: {
  authorizer: IssuerAuthorizer; logger: Logger; zoneMacKeys: ReadonlyMap<string, Buffer>; faults?: SandboxFaults;
}): Iso8583Server {
  return createIso8583Server({
    name: 'bank-iso8583',
    logger: options.logger,
    handler: async (request) => {
      if (request.mti === '0800') return options.authorizer.handle(request);
      const pan = request.fields[2];
      const issuer = typeof pan === 'string' ? findBin(pan) : undefined;
      const zoneMacKey = issuer ? options.zoneMacKeys.get(issuer.bank.code) : undefined;
      if (!zoneMacKey || !hasValidMessageMac(zoneMacKey, request)) {
        options.logger.warn({ mti: request.mti, stan: request.fields[11] }, 'message refused: no valid zone MAC');
        return buildResponse(request, { responseCode: ResponseCode.MAC_FAILURE, reason: 'MAC' });
      }
      const response = await options.authorizer.handle(request);
      const delayMs = options.faults?.delayFor(request) ?? 0;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return withMessageMac(zoneMacKey, response);
    },
  });
}
