import type { Kysely } from 'kysely';
import type { Logger } from '../infra/log/logger.ts';
import { createIso8583Server, type Iso8583Server } from '../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';
import type { CardKeys } from './card-number.ts';
import { produceClearingFile } from './clearing.ts';
import { TERMINAL_SPEC, type RegisteredTerminal } from './client.ts';
import { ReversalWorker } from './reversals.ts';
import { BinRoutingTable, type BinRoute, type IssuerLink } from './routing.ts';
import { NetworkSwitch } from './switch.ts';
import type { NetworkTables } from './tables.ts';
import { TerminalRegistry } from './terminals.ts';
import { refusingTokenService, type TokenService } from './token-service.ts';
import { zoneAuthenticatedLink } from './zone-link.ts';

export interface NetworkOptions {
  db: Kysely<any>;
  logger: Logger;
  routes: readonly BinRoute[];
  issuers: ReadonlyMap<string, IssuerLink>;
  tokenService?: TokenService;
  /** Field 32/33 institution id of this network; default 49990000. */
  acquirerId?: string;
  /** Default 2 s. */
  bankTimeoutMs?: number;
  /** Wraps terminal keys at rest (32 bytes, the keyring's `network.terminal-kek`). */
  terminalKek: Buffer;
  /** The keyring's `network.pan-hash` and `network.pan-seal` (32 bytes each): the log keeps no full card number. */
  cardKeys: CardKeys;
  /** How long a sign-on's working keys are honoured (default 24 h; terminals roll theirs sooner). */
  workingKeyLifetimeMs?: number;
  reversalIntervalMs?: number;
  clock?: () => Date;
  /** Sees each terminal message and its answer (metrics, the per-authorization log line). */
  observe?: (request: Iso8583Message, handle: () => Promise<Iso8583Message>) => Promise<Iso8583Message>;
}

export interface Network {
  switch: NetworkSwitch;
  terminals: TerminalRegistry;
  reversals: ReversalWorker;
  /** The terminal-facing ISO 8583 TCP server; call `listen`. */
  server: Iso8583Server;
  registerTerminal(terminal: { terminalId: string; merchantId: string; merchantName: string; mcc: string }): Promise<RegisteredTerminal>;
  clearingFile(businessDate: string): Promise<string>;
  close(): Promise<void>;
}

/** The card network: switch + acquirer gateway, its terminal registry, reversal worker and clearing. */
export function createNetwork(options: NetworkOptions): Network {
  const db = options.db as Kysely<NetworkTables>;
  const acquirerId = options.acquirerId ?? '49990000';
  const bankTimeoutMs = options.bankTimeoutMs ?? 2_000;
  const clock = options.clock ? { clock: options.clock } : {};
  const terminals = new TerminalRegistry(db, options.terminalKek);
  // Every link to an issuer carries the zone MAC both ways (one authenticated view per issuer, even over a shared connection).
  const issuers = new Map([...options.issuers].map(([code, link]) => [code, { ...link, client: zoneAuthenticatedLink(link.client, link.zoneMacKey) }]));
  const routes = new BinRoutingTable(options.routes);
  const tokenService = options.tokenService ?? refusingTokenService;
  const reversals = new ReversalWorker({
    db, logger: options.logger, issuers, routes, tokenService, acquirerId, bankTimeoutMs, cardKeys: options.cardKeys,
    ...(options.reversalIntervalMs ? { intervalMs: options.reversalIntervalMs } : {}), ...clock,
  });
  const networkSwitch = new NetworkSwitch({
    db, logger: options.logger, terminals, routes, issuers, tokenService, reversals, acquirerId, bankTimeoutMs,
    workingKeyLifetimeMs: options.workingKeyLifetimeMs ?? 24 * 3_600_000, cardKeys: options.cardKeys, ...clock,
  });
  const server = createIso8583Server({ name: 'network', logger: options.logger, spec: TERMINAL_SPEC, handler: (request) => (options.observe
    ? options.observe(request, () => networkSwitch.handle(request)) : networkSwitch.handle(request)) });
  reversals.start();
  return {
    switch: networkSwitch, terminals, reversals, server,
    registerTerminal: (terminal) => terminals.register(terminal),
    clearingFile: (businessDate) => produceClearingFile(db, { businessDate, acquirerId, ...(options.clock ? { now: options.clock() } : {}) }),
    async close() {
      await server.close();
      await reversals.stop();
      for (const issuer of new Set([...options.issuers.values()].map((i) => i.client))) await issuer.close();
    },
  };
}
