import { sql, type Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import { lukBatchAssociatedData, sealForDevice } from '../../protocols/crypto/device-sealing.ts';
import {
  TokenServiceError, type BankLifecycleRequest, type DeviceCardTokenStatus, type IssuedKeyBatch, type ProvisionedToken,
  type TokenServiceClient, type TokenServiceIssuerFace,
} from '../token-service.ts';
import { limitedUseKey, tokenCryptogramAlgorithm, tokenMasterKey, type TspKeys } from './keys.ts';
import type { TspTables } from './tables.ts';
import { drawTokenNumber } from './token-number.ts';
import { storeInVault, tokenRefIdsOfPan } from './vault.ts';
import type { WalletNotices } from './wallet-notices.ts';

type Token = TspTables['tokens'];

export const lukBatchSizeMax = 50;
// 10 days, so a phone offline for a whole week still holds valid keys (README "Staying payable offline", issue 12).
export const lukBatchLifetimeMs = 10 * 24 * 3_600_000;
/** Unexpired batches with unspent keys per token: a phone that asks for keys again and again without paying gets refused past this. */
export const liveLukBatchesMax = 5;
/** ATCs are two bytes: a token whose ATCs run out must be provisioned again. */
const atcMax = 0xffff;

/** active ↔ suspended → deleted; deleted is final. */
const allowed: Readonly<Record<Token['status'], readonly Token['status'][]>> = {
  active: ['suspended', 'deleted'], suspended: ['active', 'deleted'], deleted: [],
};

/**
 * UnionPay's token service provider (TSP), a party of the card network: token numbers, the
 * vault (token → PAN), key derivation, limited-use key batches, token lifecycle and the ATC
 * replay table, all in schema `tsp` under keys named `tsp.*`. The wallet server (the platform)
 * reaches it through `TokenServiceClient` (in process or over HTTP, src/network/client.ts) and
 * keeps only a reference; issuers reach it for their cards' lifecycle (`changeByBank`), and the
 * TSP tells the wallet server (`WalletServerPort`, through `WalletNotices`).
 */
export class TokenServiceProvider implements TokenServiceClient, TokenServiceIssuerFace {
  readonly #db: Kysely<TspTables>;
  readonly #keys: TspKeys;
  readonly #clock: () => Date;
  readonly #notices: WalletNotices;

  constructor(options: { db: Kysely<TspTables>; keys: TspKeys; notices: WalletNotices; clock?: () => Date }) {
    this.#db = options.db;
    this.#keys = options.keys;
    this.#notices = options.notices;
    this.#clock = options.clock ?? (() => new Date());
  }

  get keys(): TspKeys {
    return this.#keys;
  }

  async provision(request: Parameters<TokenServiceClient['provision']>[0]): Promise<ProvisionedToken> {
    const { card } = request;
    if (!/^[0-9]{13,19}$/.test(card.pan)) throw new TokenServiceError('parameter_invalid', 'card.pan is 13 to 19 digits.');
    if (!/^[0-9]{4}$/.test(card.expiryYymm)) throw new TokenServiceError('parameter_invalid', 'card.expiryYymm is YYMM.');
    if (!/^[0-9]{1,3}$/.test(card.panSequence)) throw new TokenServiceError('parameter_invalid', 'card.panSequence is 1 to 3 digits.');
    checkKeyCount(request.keyCount);
    return transactionWithRetry(this.#db, async (trx) => {
      const now = this.#clock();
      let tokenNumber = drawTokenNumber(card.pan.length, card.pan.slice(-4));
      while (await trx.selectFrom('tokens').select('token_ref_id').where('token_number', '=', tokenNumber).executeTakeFirst()) {
        tokenNumber = drawTokenNumber(card.pan.length, card.pan.slice(-4));
      }
      const token: Token = {
        token_ref_id: newId('tkr'), wallet_card_id: request.walletCardId, bank_code: request.bankCode, token_number: tokenNumber,
        token_last4: tokenNumber.slice(-4), pan_last4: card.pan.slice(-4), token_expiry_yymm: card.expiryYymm, token_sequence: '00',
        cryptogram_algorithm: tokenCryptogramAlgorithm, status: 'active', status_reason: 'identity_verified', next_atc: 1,
        created_at: now, updated_at: now,
      };
      await trx.insertInto('tokens').values(token).execute();
      await storeInVault(trx, this.#keys, token.token_ref_id, card, now);
      await this.#event(trx, token.token_ref_id, null, 'active', 'identity_verified', 'wallet', now);
      const batch = await this.#issueBatch(trx, token, request.keyCount, now, request.devicePublicKey);
      const masterKey = tokenMasterKey(this.#keys, tokenNumber, token.token_sequence);
      // A key check value lets the phone confirm its keys came from the same master key; it reveals nothing of the key.
      const keyCheckValue = limitedUseKey(masterKey, 0).subarray(0, 3).toString('hex');
      masterKey.fill(0);
      return {
        tokenReferenceId: token.token_ref_id, tokenNumber, tokenLast4: token.token_last4, panLast4: token.pan_last4,
        tokenExpiryYymm: token.token_expiry_yymm, tokenSequence: token.token_sequence, keyCheckValue, batch,
      };
    });
  }

  async replenish(request: Parameters<TokenServiceClient['replenish']>[0]): Promise<IssuedKeyBatch> {
    checkKeyCount(request.keyCount);
    return transactionWithRetry(this.#db, async (trx) => {
      const token = await trx.selectFrom('tokens').selectAll().where('token_ref_id', '=', request.tokenReferenceId)
        .where('wallet_card_id', '=', request.walletCardId).forUpdate().executeTakeFirst();
      if (!token) throw new TokenServiceError('token_not_found', 'No token with this reference for this wallet card.');
      if (token.status !== 'active') throw new TokenServiceError('token_not_active', `A ${token.status} device card gets no new keys.`);
      const now = this.#clock();
      // A batch whose every ATC the TSP has already seen has no key left on the phone: it is
      // superseded by the new one (and its spent ATCs become prunable), so a phone that pays
      // often is never starved of keys by the live-batch cap.
      await trx.updateTable('luk_batches').set({ status: 'superseded' })
        .where('token_ref_id', '=', token.token_ref_id).where('status', '=', 'live')
        .where((eb) => eb(eb.selectFrom('token_atc_uses').select((inner) => inner.fn.countAll<number>().as('n'))
          .whereRef('token_atc_uses.token_ref_id', '=', 'luk_batches.token_ref_id')
          .whereRef('token_atc_uses.atc', '>=', 'luk_batches.atc_first')
          .where(sql<boolean>`token_atc_uses.atc < luk_batches.atc_first + luk_batches.key_count`), '=', eb.ref('luk_batches.key_count')))
        .execute();
      const live = await trx.selectFrom('luk_batches').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('token_ref_id', '=', token.token_ref_id).where('status', '=', 'live').where('expires_at', '>', now).executeTakeFirstOrThrow();
      if (Number(live.n) >= liveLukBatchesMax) {
        throw new TokenServiceError('too_many_live_batches', `At most ${liveLukBatchesMax} unexpired key batches per device card.`);
      }
      return this.#issueBatch(trx, token, request.keyCount, now, request.devicePublicKey);
    });
  }

  async #issueBatch(trx: Kysely<TspTables>, token: Token, count: number, now: Date, devicePublicKey: string): Promise<IssuedKeyBatch> {
    if (token.next_atc + count - 1 > atcMax) {
      throw new TokenServiceError('atc_exhausted', 'This device card has used all its transaction counters; add the card again.');
    }
    const batch: TspTables['luk_batches'] = {
      id: newId('luk'), token_ref_id: token.token_ref_id, atc_first: token.next_atc, key_count: count,
      expires_at: new Date(now.getTime() + lukBatchLifetimeMs), status: 'live', created_at: now,
    };
    await trx.insertInto('luk_batches').values(batch).execute();
    await trx.updateTable('tokens').set({ next_atc: token.next_atc + count }).where('token_ref_id', '=', token.token_ref_id).execute();
    const algorithm = token.cryptogram_algorithm;
    const masterKey = tokenMasterKey(this.#keys, token.token_number, token.token_sequence, algorithm);
    const keys = Array.from({ length: count }, (_, i) => ({
      atc: batch.atc_first + i, key: limitedUseKey(masterKey, batch.atc_first + i, algorithm).toString('hex'),
    }));
    masterKey.fill(0);
    const plaintext = Buffer.from(JSON.stringify({ keys }), 'utf8');
    // Sealed to the device with the wallet's own card id, as the phone knows the card.
    const sealedKeys = sealForDevice(devicePublicKey, plaintext, lukBatchAssociatedData(token.wallet_card_id, batch.id));
    plaintext.fill(0);
    return {
      id: batch.id, atcFirst: batch.atc_first, keyCount: count, expiresAt: batch.expires_at.toISOString(), algorithm, sealedKeys,
    };
  }

  async changeStatus(request: Parameters<TokenServiceClient['changeStatus']>[0]): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const token = await trx.selectFrom('tokens').selectAll().where('token_ref_id', '=', request.tokenReferenceId).forUpdate().executeTakeFirst();
      if (!token) throw new TokenServiceError('token_not_found', 'No token with this reference.');
      const now = this.#clock();
      if (token.status !== request.status && allowed[token.status].includes(request.status)) {
        await this.#apply(trx, token, request.status, request.reason, 'wallet', now);
      } else if (token.status === request.status && token.status_reason !== request.reason && token.status !== 'deleted') {
        // Same status for another reason (a user suspension of a card its bank suspended): the latest reason wins.
        await trx.updateTable('tokens').set({ status_reason: request.reason, updated_at: now }).where('token_ref_id', '=', token.token_ref_id).execute();
      }
      if (request.retireKeys) {
        await trx.updateTable('luk_batches').set({ status: 'superseded' })
          .where('token_ref_id', '=', token.token_ref_id).where('status', '=', 'live').execute();
      }
    });
  }

  async liveKeyBatches(tokenReferenceIds: readonly string[]): Promise<Record<string, string[]>> {
    const live: Record<string, string[]> = {};
    if (tokenReferenceIds.length === 0) return live;
    const rows = await this.#db.selectFrom('luk_batches').select(['id', 'token_ref_id']).where('token_ref_id', 'in', tokenReferenceIds)
      .where('status', '=', 'live').where('expires_at', '>', this.#clock()).orderBy('atc_first').execute();
    for (const row of rows) (live[row.token_ref_id] ??= []).push(row.id);
    return live;
  }

  /**
   * An issuer acts on every token of one of its card numbers (card lost, found, replaced,
   * closed); the wallet server is told of each change. A resume brings back only the bank's own
   * suspensions: a token the user or a lost phone suspended stays suspended. Answers the tokens
   * changed, without the card number.
   */
  async changeByBank(request: BankLifecycleRequest): Promise<Array<{ tokenReferenceId: string; walletCardId: string; tokenLast4: string; status: DeviceCardTokenStatus }>> {
    const ids = await tokenRefIdsOfPan(this.#db, this.#keys, request.pan);
    if (ids.length === 0) return [];
    const to: DeviceCardTokenStatus = request.action === 'suspend' ? 'suspended' : request.action === 'resume' ? 'active' : 'deleted';
    const changed = await this.#db.transaction().execute(async (trx) => {
      let query = trx.selectFrom('tokens').selectAll().where('token_ref_id', 'in', ids).where('bank_code', '=', request.bankCode)
        .where('status', 'in', (Object.keys(allowed) as Token['status'][]).filter((s) => allowed[s].includes(to)));
      if (to === 'active') query = query.where('status_reason', 'in', ['card_lost', 'card_closed', 'card_replaced']);
      const tokens = await query.orderBy('token_ref_id').forUpdate().execute();
      const now = this.#clock();
      const out = [];
      for (const token of tokens) {
        await this.#apply(trx, token, to, request.reason, 'bank', now);
        await this.#notices.enqueue(trx, { kind: 'status', tokenReferenceId: token.token_ref_id, status: to, reason: request.reason }, now);
        out.push({ tokenReferenceId: token.token_ref_id, walletCardId: token.wallet_card_id, tokenLast4: token.token_last4, status: to });
      }
      return out;
    });
    // The wallet hears of it now if it can (its answer to the phone's next sync shows it); if not, the notices are retried.
    if (changed.length > 0) await this.#notices.deliver();
    return changed;
  }

  async #apply(trx: Kysely<TspTables>, token: Token, to: Token['status'], reason: string, actor: string, now: Date): Promise<void> {
    await trx.updateTable('tokens').set({ status: to, status_reason: reason, updated_at: now }).where('token_ref_id', '=', token.token_ref_id).execute();
    await this.#event(trx, token.token_ref_id, token.status, to, reason, actor, now);
    if (to === 'deleted') {
      await trx.updateTable('luk_batches').set({ status: 'superseded' }).where('token_ref_id', '=', token.token_ref_id).where('status', '=', 'live').execute();
    }
  }

  async #event(trx: Kysely<TspTables>, tokenRefId: string, from: string | null, to: string, reason: string, actor: string, now: Date): Promise<void> {
    await trx.insertInto('token_events').values({
      id: newId('tke'), token_ref_id: tokenRefId, from_status: from, to_status: to, reason, actor, created_at: now,
    }).execute();
  }

  /**
   * Forgets spent ATCs that can never come back: those of batches that have expired or been
   * retired, and those of deleted tokens — the authorization refuses their ATCs before it looks
   * at `token_atc_uses` (LUK_EXPIRED, LUK_RETIRED, TOKEN_DELETED), so the replay table stays the
   * size of the live key batches. Answers how many rows went.
   */
  async pruneSpentAtcs(): Promise<number> {
    const now = this.#clock();
    const deleted = await this.#db.deleteFrom('token_atc_uses')
      .where((eb) => eb.or([
        eb.exists(eb.selectFrom('luk_batches').select('luk_batches.id')
          .whereRef('luk_batches.token_ref_id', '=', 'token_atc_uses.token_ref_id')
          .whereRef('luk_batches.atc_first', '<=', 'token_atc_uses.atc')
          .where(sql<boolean>`luk_batches.atc_first + luk_batches.key_count > token_atc_uses.atc`)
          .where((inner) => inner.or([inner('luk_batches.expires_at', '<=', now), inner('luk_batches.status', '<>', 'live')]))),
        eb.exists(eb.selectFrom('tokens').select('tokens.token_ref_id')
          .whereRef('tokens.token_ref_id', '=', 'token_atc_uses.token_ref_id').where('tokens.status', '=', 'deleted')),
      ]))
      .executeTakeFirst();
    return Number(deleted.numDeletedRows);
  }
}

function checkKeyCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > lukBatchSizeMax) {
    throw new TokenServiceError('parameter_invalid', `keyCount is 1 to ${lukBatchSizeMax}.`);
  }
}
