import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { generateKey } from '../protocols/crypto/index.ts';
import type { RegisteredTerminal } from './client.ts';
import { unwrapKey, wrapKey } from './key-wrap.ts';
import type { NetworkTables } from './tables.ts';
import type { WorkingKeys } from './working-keys.ts';

/** A registered terminal as the switch sees it: its TMK, and the working keys of its last sign-on (none before one). */
export interface KnownTerminal {
  terminalId: string;
  merchantId: string;
  terminalMasterKey: Buffer | undefined;
  working: (WorkingKeys & { issuedAt: Date; generation: number }) | undefined;
}

/**
 * The acquirer's terminal registry. Registering a terminal is the key ceremony: it makes the
 * terminal master key (TMK) and hands it back once, to be loaded into the terminal. Sign-ons
 * then issue working keys (TPK for PIN blocks, TAK for MACs) that replace the previous ones at
 * once: a message MACed under a retired key fails. Every key is kept wrapped under the
 * terminal KEK (key-wrap.ts); the KEK comes from the keyring and never reaches the database.
 */
export class TerminalRegistry {
  readonly #db: Kysely<NetworkTables>;
  readonly #kek: Buffer;
  readonly #cache = new Map<string, KnownTerminal>();

  constructor(db: Kysely<NetworkTables>, terminalKek: Buffer) {
    this.#db = db;
    this.#kek = terminalKek;
  }

  async register(terminal: { terminalId: string; merchantId: string; merchantName: string; mcc: string }): Promise<RegisteredTerminal> {
    assert.match(terminal.terminalId, /^[\x20-\x7e]{8}$/, 'terminal id is 8 characters');
    assert.match(terminal.merchantId, /^[\x20-\x7e]{15}$/, 'merchant id is 15 characters');
    const tmk = generateKey('tdes');
    const tmkWrapped = wrapKey(this.#kek, tmk, `terminal:${terminal.terminalId}:tmk`);
    // A new TMK voids the working keys issued under the old one: the terminal signs on again.
    const keys = { tmk_wrapped: tmkWrapped, tpk_wrapped: null, tak_wrapped: null, keys_issued_at: null, sign_on_stan: null };
    await this.#db.insertInto('terminals').values({
      terminal_id: terminal.terminalId, merchant_id: terminal.merchantId, merchant_name: terminal.merchantName, mcc: terminal.mcc,
      created_at: new Date(), ...keys,
    }).onConflict((oc) => oc.column('terminal_id').doUpdateSet({
      merchant_id: terminal.merchantId, merchant_name: terminal.merchantName, mcc: terminal.mcc, ...keys,
    })).execute();
    this.#cache.delete(terminal.terminalId);
    return { ...terminal, terminalMasterKey: tmk };
  }

  async find(terminalId: string): Promise<KnownTerminal | undefined> {
    const cached = this.#cache.get(terminalId);
    if (cached) return cached;
    const row = await this.#db.selectFrom('terminals').selectAll().where('terminal_id', '=', terminalId).executeTakeFirst();
    if (!row) return undefined;
    const label = (what: string) => `terminal:${terminalId}:${what}`;
    const working = row.tpk_wrapped && row.tak_wrapped && row.keys_issued_at ? {
      terminalPinKey: unwrapKey(this.#kek, row.tpk_wrapped, label(`tpk:${row.key_generation}`)),
      terminalMacKey: unwrapKey(this.#kek, row.tak_wrapped, label(`tak:${row.key_generation}`)),
      issuedAt: row.keys_issued_at, generation: row.key_generation,
    } : undefined;
    const terminal: KnownTerminal = {
      terminalId, merchantId: row.merchant_id, terminalMasterKey: row.tmk_wrapped ? unwrapKey(this.#kek, row.tmk_wrapped, label('tmk')) : undefined, working,
    };
    this.#cache.set(terminalId, terminal);
    return terminal;
  }

  /**
   * New working keys for a terminal that signed on with STAN `stan`; the previous ones are
   * retired by the same write. Undefined (nothing changed) when `stan` is not newer than the last
   * accepted sign-on's: a captured 0800 sent again would otherwise roll the keys under the terminal.
   */
  async issueWorkingKeys(terminalId: string, now: Date, stan: string): Promise<WorkingKeys | undefined> {
    const keys: WorkingKeys = { terminalPinKey: generateKey('tdes'), terminalMacKey: generateKey('tdes') };
    // The generation is part of each wrapped key's label, so an old wrapped key put back cannot open
    // as the current one. Two sign-ons at once: the second's write finds the generation moved and goes again.
    for (;;) {
      const { key_generation: current, sign_on_stan: lastStan } = await this.#db.selectFrom('terminals').select(['key_generation', 'sign_on_stan'])
        .where('terminal_id', '=', terminalId).executeTakeFirstOrThrow();
      if (!isNewerStan(stan, lastStan)) return undefined;
      const next = current + 1;
      const label = (what: string) => `terminal:${terminalId}:${what}:${next}`;
      const written = await this.#db.updateTable('terminals').set({
        tpk_wrapped: wrapKey(this.#kek, keys.terminalPinKey, label('tpk')), tak_wrapped: wrapKey(this.#kek, keys.terminalMacKey, label('tak')),
        keys_issued_at: now, key_generation: next, sign_on_stan: stan,
      }).where('terminal_id', '=', terminalId).where('key_generation', '=', current).executeTakeFirst();
      if (written.numUpdatedRows === 1n) break;
    }
    this.#cache.delete(terminalId);
    return keys;
  }

  /** Retires a terminal's working keys now (a suspected compromise, an operator's order): its next message is refused until it signs on. */
  async retireWorkingKeys(terminalId: string): Promise<void> {
    await this.#db.updateTable('terminals').set({ tpk_wrapped: null, tak_wrapped: null, keys_issued_at: null }).where('terminal_id', '=', terminalId).execute();
    this.#cache.delete(terminalId);
  }
}

/**
 * True when STAN `stan` comes after `last` in a terminal's sequence (000001–999999, wrapping):
 * ahead by less than half the cycle. Equal or behind is a replay.
 */
export function isNewerStan(stan: string, last: string | null): boolean {
  if (last === null) return true;
  const ahead = (Number(stan) - Number(last) + 999_999) % 999_999;
  return ahead > 0 && ahead < 500_000;
}
