/**
 * The TSP's side of a device card payment (UnionPay's TSP, a party of the network): `TokenService`. The network hands it
 * every request whose card number is a token (BIN 62999x); it answers with the card number to
 * forward to the issuing bank, or with a decline the network sends back to the terminal.
 *
 * The checks, in order (each decline with its field 39 code and field 44 reason is listed in
 * src/network/README.md, "Device cards"):
 *   1. the device card exists, is not deleted, its phone is not disabled as lost, and it is active
 *      (or suspended, for a refund: money back to the card, as a blocked plastic card takes);
 *   2. token domain: device cards pay only at contactless POS (field 22 = 07x);
 *   3. the token has not expired and field 14 names its expiry;
 *   4. field 55 is readable and its transaction type (9C) is the processing code's;
 *   5. a live, unexpired limited-use key batch of this card covers the ATC (9F36);
 *   6. the ARQC verifies under the token's MK-AC, whose session key at that ATC is exactly the
 *      LUK the phone used (keys.ts);
 *   7. the ATC was never used before: recorded in `token_atc_uses` only now that the
 *      cryptogram is known good, so a forged request cannot burn the phone's next key, and
 *      atomically (insert … on conflict do nothing), so two copies racing cannot both pass.
 * Then the vault row (read with the card) is opened and the network forwards to the bank with
 * the PAN and field 60 `TSPV`. The ARPC the terminal gets back is computed once the bank has
 * answered, with the bank's response code as its ARC.
 *
 * Two statements per request, each shared by the requests that queue while one is in flight
 * (StatementBatcher, as the network's log and the bank's writes do): the read of the device card
 * with its device, the key batch covering the ATC and its vault row; and the ATC insert.
 *
 * No PAN, token number or key is logged: a decline is logged with the token's last 4.
 */
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { StatementBatcher } from '../../infra/db/statement-batcher.ts';
import type { Logger } from '../../infra/log/logger.ts';
import type { CryptogramAlgorithm } from '../../protocols/crypto/index.ts';
import { checkArqc, issuerAuthenticationData } from '../../protocols/emv/online-cryptogram.ts';
import { decodeTlv, flattenTlv, TlvError } from '../../protocols/tlv.ts';
import type {
  ArpcInput, TokenAuthorizationRequest, TokenAuthorizationResult, TokenService, TokenTransactionCompleted,
} from '../token-service.ts';
import { limitedUseKey, tokenMasterKey, type TspKeys } from './keys.ts';
import type { TspTables } from './tables.ts';
import { detokenize, openVaultEntry, type SealedVaultEntry } from './vault.ts';
import { ResponseCode } from '../../protocols/iso8583/response-codes.ts';

/** Cryptogram version numbers (9F10 byte 3) a device card's applet writes, by algorithm. */
const cryptogramVersionOf: Partial<Record<CryptogramAlgorithm, number>> = { tdes: 0x01, sm4: 0x04 };
/** Field 55 is at most 255 bytes (LLLVAR b…255). */
const iccBytesMax = 255;

type Decline = Extract<TokenAuthorizationResult, { outcome: 'declined' }>;
type TokenRow = TspTables['tokens'];

/** What one lookup reads: the token, the key batch covering the ATC (if any) and the sealed vault row. */
interface CardForAuthorization extends SealedVaultEntry {
  status: TokenRow['status'];
  status_reason: string;
  token_expiry_yymm: string;
  token_sequence: string;
  cryptogram_algorithm: TokenRow['cryptogram_algorithm'];
  batch_status: TspTables['luk_batches']['status'] | null;
  batch_expires_at: Date | null;
}

interface AtcUse { tokenRefId: string; atc: number; terminalId: string; usedAt: Date }

const decline = (responseCode: string, reason: string): Decline => ({ outcome: 'declined', responseCode, reason });

/** A token is valid through the last day of its expiry month (ISO/IEC 7813), as a card is. */
function isExpired(expiryYymm: string, now: Date): boolean {
  return now.getTime() >= Date.UTC(2000 + Number(expiryYymm.slice(0, 2)), Number(expiryYymm.slice(2, 4)), 1);
}

/** The ATC and transaction type of field 55, when it can be read; the ARQC check reads the rest. */
function readIcc(icc: Buffer): { atc: number; transactionType: string } | undefined {
  try {
    const values = flattenTlv(decodeTlv(icc, { sizeMax: iccBytesMax }));
    const atc = values.get('9F36');
    const type = values.get('9C');
    if (!atc || atc.length !== 2 || !type || type.length !== 1) return undefined;
    return { atc: atc.readUInt16BE(0), transactionType: type.toString('hex') };
  } catch (error) {
    if (error instanceof TlvError) return undefined;
    throw error;
  }
}

export class TokenAuthorizer implements TokenService {
  readonly #db: Kysely<TspTables>;
  readonly #keys: TspKeys;
  readonly #logger: Logger;
  readonly #clock: () => Date;
  readonly #lookups: StatementBatcher<{ token: string; atc: number }, CardForAuthorization | undefined>;
  readonly #atcUses: StatementBatcher<AtcUse, boolean>;

  readonly #onCompleted: ((completed: TokenTransactionCompleted) => void) | undefined;

  constructor(options: {
    db: Kysely<TspTables>; keys: TspKeys; logger: Logger; clock?: () => Date; schema?: string;
    /** Each device card request's final answer (the TSP's wallet notices). */
    onCompleted?: (completed: TokenTransactionCompleted) => void;
  }) {
    this.#onCompleted = options.onCompleted;
    this.#db = options.db;
    this.#keys = options.keys;
    this.#logger = options.logger;
    this.#clock = options.clock ?? (() => new Date());
    const db = options.db;
    const schema = options.schema ?? 'tsp';
    const table = (name: string) => sql.table(`${schema}.${name}`);
    this.#lookups = new StatementBatcher<{ token: string; atc: number }, CardForAuthorization | undefined>(async (items) => {
      const wanted = sql.join(items.map((item, i) => sql`(${i}::int, ${item.token}::text, ${item.atc}::int)`));
      // Batches of one card never overlap, so at most one row per request.
      const { rows } = await sql<CardForAuthorization & { i: number }>`
        select w.i, c.status, c.status_reason, c.token_expiry_yymm, c.token_sequence, c.cryptogram_algorithm,
          b.status as batch_status, b.expires_at as batch_expires_at, v.token_ref_id, v.kek_id, v.wrapped_data_key, v.pan_ciphertext
        from (values ${wanted}) as w(i, token, atc)
        join ${table('tokens')} c on c.token_number = w.token
        join ${table('token_vault')} v on v.token_ref_id = c.token_ref_id
        left join ${table('luk_batches')} b on b.token_ref_id = c.token_ref_id and b.atc_first <= w.atc and b.atc_first + b.key_count > w.atc`.execute(db);
      const found = new Map(rows.map((row) => [row.i, row]));
      return items.map((_, i) => found.get(i));
    });
    this.#atcUses = new StatementBatcher<AtcUse, boolean>(async (uses) => {
      const values = sql.join(uses.map((u) => sql`(${u.tokenRefId}::text, ${u.atc}::int, ${u.terminalId}::text, ${u.usedAt}::timestamptz)`));
      const { rows } = await sql<{ token_ref_id: string; atc: number }>`
        insert into ${table('token_atc_uses')} (token_ref_id, atc, terminal_id, used_at) values ${values}
        on conflict (token_ref_id, atc) do nothing returning token_ref_id, atc`.execute(db);
      const inserted = new Set(rows.map((row) => `${row.token_ref_id}|${row.atc}`));
      // The same ATC twice in one statement: the first copy got the row, the second is the replay.
      return uses.map((u) => inserted.delete(`${u.tokenRefId}|${u.atc}`));
    });
  }

  authorizationCompleted(completed: TokenTransactionCompleted): void {
    this.#onCompleted?.(completed);
  }

  /** For the network's reversal of a request it forwarded but never recorded an answer for (see TokenService). */
  async cardNumberForReversal(token: string): Promise<string | undefined> {
    return (await detokenize(this.#db, this.#keys, token))?.pan;
  }

  async authorize(request: TokenAuthorizationRequest): Promise<TokenAuthorizationResult> {
    const result = await this.#authorize(request);
    if (result.outcome === 'declined') {
      this.#logger.info({ tokenLast4: request.token.slice(-4), responseCode: result.responseCode, reason: result.reason, terminalId: request.terminalId }, 'device card authorization declined');
    }
    return result;
  }

  async #authorize(request: TokenAuthorizationRequest): Promise<TokenAuthorizationResult> {
    const now = this.#clock();
    const icc = request.iccData && request.iccData.length <= iccBytesMax ? readIcc(request.iccData) : undefined;
    const card = await this.#lookups.add({ token: request.token, atc: icc?.atc ?? -1 });

    if (!card) return decline(ResponseCode.INVALID_CARD_NUMBER, 'TOKEN_UNKNOWN');
    if (card.status === 'deleted') return decline(ResponseCode.INVALID_CARD_NUMBER, 'TOKEN_DELETED');
    // The wallet suspended it because its phone was reported lost: nothing, not even a refund, to a lost phone.
    if (card.status === 'suspended' && card.status_reason === 'device_lost') return decline(ResponseCode.LOST_CARD, 'DEVICE_LOST');
    // A suspended device card takes refunds (money back to its card, as a blocked plastic card does) and nothing else.
    const isRefund = request.processingCode.startsWith('20');
    if (card.status === 'suspended' && !isRefund) return card.status_reason === 'card_lost' ? decline(ResponseCode.LOST_CARD, 'CARD_LOST') : decline(ResponseCode.NOT_PERMITTED, 'TOKEN_SUSPENDED');
    if (card.status !== 'active' && card.status !== 'suspended') return decline(ResponseCode.NOT_PERMITTED, 'TOKEN_INACTIVE');
    if (!request.posEntryMode.startsWith('07')) return decline(ResponseCode.NOT_PERMITTED, 'TOKEN_DOMAIN');
    if (isExpired(card.token_expiry_yymm, now)) return decline(ResponseCode.EXPIRED_CARD, 'TOKEN_EXPIRED');
    if (request.tokenExpiryYymm !== undefined && request.tokenExpiryYymm !== card.token_expiry_yymm) return decline(ResponseCode.DO_NOT_HONOUR, 'EXPIRY_MISMATCH');
    if (!request.iccData) return decline(ResponseCode.FORMAT_ERROR, 'NO_ICC');
    if (!icc) return decline(ResponseCode.DO_NOT_HONOUR, 'ICC_FORMAT');
    // EMV 9C is the ISO 8583 processing code's transaction type (00 goods and services, 20 refund).
    if (icc.transactionType !== request.processingCode.slice(0, 2)) return decline(ResponseCode.DO_NOT_HONOUR, 'TXN_TYPE');
    if (!card.batch_status || !card.batch_expires_at) return decline(ResponseCode.DO_NOT_HONOUR, 'ATC_NOT_IN_BATCH');
    if (card.batch_status !== 'live') return decline(ResponseCode.DO_NOT_HONOUR, 'LUK_RETIRED');
    if (new Date(card.batch_expires_at).getTime() <= now.getTime()) return decline(ResponseCode.DO_NOT_HONOUR, 'LUK_EXPIRED');

    const algorithm = card.cryptogram_algorithm;
    const cryptogramVersion = cryptogramVersionOf[algorithm];
    assert.ok(cryptogramVersion !== undefined, `device cards are not issued with ${algorithm} cryptograms`);
    const masterKey = tokenMasterKey(this.#keys, request.token, card.token_sequence, algorithm);
    let check;
    try {
      check = checkArqc({ icc: request.iccData, algorithm, cryptogramVersion, cardMasterKey: masterKey, amountFen: request.amountFen });
    } finally {
      masterKey.fill(0);
    }
    if (!check.ok) return decline(ResponseCode.DO_NOT_HONOUR, check.reason === 'FORMAT' ? 'ICC_FORMAT' : check.reason);
    assert.equal(check.atc, icc.atc);

    const firstUse = await this.#atcUses.add({ tokenRefId: card.token_ref_id, atc: check.atc, terminalId: request.terminalId, usedAt: now });
    if (!firstUse) return decline(ResponseCode.DO_NOT_HONOUR, 'ATC_REPLAYED');

    const cardData = openVaultEntry(this.#keys, card);
    check.sessionKey.fill(0);
    return {
      outcome: 'verified', pan: cardData.pan, panExpiryYymm: cardData.expiryYymm, panSequence: cardData.panSequence,
      tokenRefId: card.token_ref_id,
      arpcInput: { token: request.token, tokenSequence: card.token_sequence, algorithm, atc: check.atc, arqc: check.arqc.toString('hex') },
    };
  }

  /**
   * Field 55 for the terminal's answer once the issuer has answered: 91 = ARPC ‖ ARC under the
   * token's session key at the ATC, re-derived here from the TSP's own key (the switch holds
   * only the data of `arpcInput`, no key).
   */
  async issuerAuthenticationData(input: ArpcInput, responseCode: string): Promise<Buffer> {
    assert.match(responseCode, /^[0-9A-Z]{2}$/, 'responseCode is two characters');
    assert.match(input.arqc, /^[0-9a-f]{16}$/, 'arqc is 8 bytes of hex');
    assert.ok(Number.isInteger(input.atc) && input.atc >= 0 && input.atc <= 0xffff, 'atc is two bytes');
    const masterKey = tokenMasterKey(this.#keys, input.token, input.tokenSequence, input.algorithm);
    const sessionKey = limitedUseKey(masterKey, input.atc, input.algorithm);
    masterKey.fill(0);
    try {
      return issuerAuthenticationData(input.algorithm, { ok: true, atc: input.atc, arqc: Buffer.from(input.arqc, 'hex'), sessionKey, algorithm: input.algorithm }, responseCode);
    } finally {
      sessionKey.fill(0);
    }
  }
}
