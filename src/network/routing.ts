import type { BankIso8583Client } from '../bank/client.ts';

/** One row of the network's routing table: card numbers starting with `prefix` go to `issuerCode`. */
export interface BinRoute {
  prefix: string;
  issuerCode: string;
}

/** How the network reaches an issuer, and the zone keys it shares with it (PIN key, MAC key). */
export interface IssuerLink {
  client: BankIso8583Client;
  zonePinKey: Buffer;
  /** ZAK: MACs every message on the link both ways (zone-link.ts). */
  zoneMacKey: Buffer;
}

/**
 * The network's own BIN table (seeded from configuration; the banks' internal tables are
 * theirs): longest matching prefix wins, as in a switch's routing table.
 */
export class BinRoutingTable {
  readonly #routes: BinRoute[];

  constructor(routes: readonly BinRoute[]) {
    this.#routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  route(pan: string): string | undefined {
    return this.#routes.find((route) => pan.startsWith(route.prefix))?.issuerCode;
  }
}
