import type { Logger } from '../../infra/log/logger.ts';
import { createIso8583Server, type Iso8583Server } from '../../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import type { IssuerAuthorizer } from './authorizer.ts';

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

/** The banks' ISO 8583 endpoint over TCP, as the network reaches it. */
export function createBankIsoEndpoint(options: { authorizer: IssuerAuthorizer; logger: Logger; faults?: SandboxFaults }): Iso8583Server {
  return createIso8583Server({
    name: 'bank-iso8583',
    logger: options.logger,
    handler: async (request) => {
      const response = await options.authorizer.handle(request);
      const delayMs = options.faults?.delayFor(request) ?? 0;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return response;
    },
  });
}
