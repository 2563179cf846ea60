import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { generateKey } from '../protocols/crypto/index.ts';
import type { RegisteredTerminal } from './client.ts';
import type { NetworkTables } from './tables.ts';

/**
 * The acquirer's terminal registry. Registering a terminal is the sandbox's key-injection
 * facility: it makes the terminal PIN key (TPK) and hands it back once, to be loaded into the
 * PIN pad. The network keeps it to translate PIN blocks (TPK → the issuer's zone PIN key).
 */
export class TerminalRegistry {
  readonly #db: Kysely<NetworkTables>;
  readonly #cache = new Map<string, RegisteredTerminal>();

  constructor(db: Kysely<NetworkTables>) {
    this.#db = db;
  }

  async register(terminal: { terminalId: string; merchantId: string; merchantName: string; mcc: string }): Promise<RegisteredTerminal> {
    assert.match(terminal.terminalId, /^[\x20-\x7e]{8}$/, 'terminal id is 8 characters');
    assert.match(terminal.merchantId, /^[\x20-\x7e]{15}$/, 'merchant id is 15 characters');
    const tpk = generateKey('tdes');
    await this.#db.insertInto('terminals').values({
      terminal_id: terminal.terminalId, merchant_id: terminal.merchantId, merchant_name: terminal.merchantName, mcc: terminal.mcc,
      tpk_hex: tpk.toString('hex'), created_at: new Date(),
    }).onConflict((oc) => oc.column('terminal_id').doUpdateSet({
      merchant_id: terminal.merchantId, merchant_name: terminal.merchantName, mcc: terminal.mcc, tpk_hex: tpk.toString('hex'),
    })).execute();
    this.#cache.delete(terminal.terminalId);
    return { ...terminal, terminalPinKey: tpk };
  }

  async find(terminalId: string): Promise<RegisteredTerminal | undefined> {
    const cached = this.#cache.get(terminalId);
    if (cached) return cached;
    const row = await this.#db.selectFrom('terminals').selectAll().where('terminal_id', '=', terminalId).executeTakeFirst();
    if (!row) return undefined;
    const terminal = { terminalId, merchantId: row.merchant_id, merchantName: row.merchant_name, mcc: row.mcc, terminalPinKey: Buffer.from(row.tpk_hex, 'hex') };
    this.#cache.set(terminalId, terminal);
    return terminal;
  }
}
