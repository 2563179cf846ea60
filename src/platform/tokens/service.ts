import { sql, type Kysely } from 'kysely';
import type { BankClient } from '../../bank/client.ts';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import { lukBatchAssociatedData, sealForDevice, type SealedForDevice } from '../../protocols/crypto/device-sealing.ts';
import { callBank } from '../bank-refusal.ts';
import type { CardService } from '../cards/service.ts';
import type { DeviceService } from '../devices/service.ts';
import type { SignedHttpRequest } from '../devices/signed-request.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';
import { limitedUseKey, tokenCryptogramAlgorithm, tokenMasterKey, type TspKeys } from './keys.ts';
import { DeviceCardLifecycle, recordCreation, type DeviceCard, type LifecycleChange } from './lifecycle.ts';
import { drawTokenNumber, maskNumber } from './token-number.ts';
import { deviceCardIdsOfPan, detokenize, storeInVault, type VaultCardData } from './vault.ts';

export type LukBatch = PlatformTables['luk_batches'];

/** ≤ 8 bank device cards per device (wallet). */
export const bankDeviceCardsPerDeviceMax = 8;
/** One physical card on ≤ 10 devices. */
export const devicesPerCardMax = 10;
export const lukBatchSizeDefault = 10;
export const lukBatchSizeMax = 50;
// Issue 12: 10 days, so a phone offline for a whole week still holds valid keys (README "Staying payable offline").
export const lukBatchLifetimeMs = 10 * 24 * 3_600_000;
/** Unexpired batches with unspent keys per card: a phone that asks for keys again and again without paying gets refused past this. */
export const liveLukBatchesMax = 5;
/** ATCs are two bytes: a card whose ATCs run out must be provisioned again. */
const atcMax = 0xffff;

/**
 * What the phone receives once, when a batch is issued: the ATC range, expiry, and the keys
 * sealed to the device's own P-256 key (src/protocols/crypto/device-sealing.ts) with the device
 * card id and batch id as associated data. The plaintext is JSON `{ keys: [{ atc, key }] }`, one
 * hex LUK per ATC from `atc_first`. Not stored by the platform; no one but the phone can open it.
 */
export interface IssuedLukBatch {
  batch: LukBatch;
  sealedKeys: SealedForDevice;
}

/**
 * The token service provider (TSP): device cards from bound cards onto registered devices.
 * Provisioning needs the platform (and the bank) online: it is an API call, as is replenishing
 * limited-use keys; only paying with already-issued keys works offline.
 */
export class TokenService {
  readonly #db: Kysely<PlatformTables>;
  readonly #bank: BankClient;
  readonly #cards: CardService;
  readonly #devices: DeviceService;
  readonly #keys: TspKeys;
  readonly #clock: () => Date;
  readonly lifecycle: DeviceCardLifecycle;

  constructor(options: { db: Kysely<PlatformTables>; bank: BankClient; cards: CardService; devices: DeviceService; keys: TspKeys; clock: () => Date }) {
    this.#db = options.db;
    this.#bank = options.bank;
    this.#cards = options.cards;
    this.#devices = options.devices;
    this.#keys = options.keys;
    this.#clock = options.clock;
    this.lifecycle = new DeviceCardLifecycle(options.clock);
  }

  /** Eligibility of the card and device, and the three limits; refusals name the field at fault. */
  async #checkEligibility(input: { userId: string; deviceId: string; cardId: string }) {
    const device = await this.#devices.requireReadyToPay(input.userId, input.deviceId);
    const card = await this.#cards.get(input.userId, input.cardId, 'card_id');
    // The bank finds the issuer and its Mi Pay rule by BIN (the first 6 digits); the platform
    // keeps no card number, so the masked number's BIN is padded out to a lookup-able length.
    const issuer = await callBank(() => this.#bank.lookupCard(card.masked_number.slice(0, 6).padEnd(16, '0')));
    if (!issuer) throw errors.card_bin_unknown('The card\'s bank is not in the supported list.', 'card_id');
    if (card.brand !== 'unionpay') throw errors.card_brand_not_supported('Only UnionPay-branded cards become device cards; single-brand VISA cards do not.', 'card_id');
    if (issuer.miPay === 'credit_only' && card.card_kind !== 'credit') {
      throw errors.card_kind_not_supported(`${card.bank_name} lets Mi Pay add only its credit cards.`, 'card_id');
    }
    await this.#checkLimits(this.#db, device.id, card);
    return { device, card };
  }

  /** The three limits, readable inside the provisioning transaction (`db` may be it). */
  async #checkLimits(db: Kysely<PlatformTables>, deviceId: string, card: { bank_code: string; card_ref: string }): Promise<void> {
    const live = (q: ReturnType<typeof db.selectFrom<'device_cards'>>) => q.where('status', '<>', 'deleted');
    const same = await live(db.selectFrom('device_cards')).select('id').where('device_id', '=', deviceId)
      .where('bank_code', '=', card.bank_code).where('card_ref', '=', card.card_ref).executeTakeFirst();
    if (same) throw errors.device_card_exists('This card is already on this device.', 'card_id');
    const onDevice = await live(db.selectFrom('device_cards')).select((eb) => eb.fn.countAll<number>().as('n'))
      .where('device_id', '=', deviceId).where('kind', '=', 'bank').executeTakeFirstOrThrow();
    if (Number(onDevice.n) >= bankDeviceCardsPerDeviceMax) {
      throw errors.device_cards_per_device_limit(`A device carries at most ${bankDeviceCardsPerDeviceMax} bank cards; delete one first.`, 'device_id');
    }
    const devicesOfCard = await live(db.selectFrom('device_cards')).select((eb) => eb.fn.count<number>('device_id').distinct().as('n'))
      .where('bank_code', '=', card.bank_code).where('card_ref', '=', card.card_ref).executeTakeFirstOrThrow();
    if (Number(devicesOfCard.n) >= devicesPerCardMax) {
      throw errors.card_devices_limit(`One card can be on at most ${devicesPerCardMax} devices; delete it from one first.`, 'card_id');
    }
  }

  /**
   * Step 1: checks eligibility and limits, spends the phone's fingerprint proof, then the bank
   * texts a code to the card's reserved phone (ID&V).
   */
  async apply(input: { userId: string; deviceId: string; cardId: string; biometricNonce: string }) {
    const { card } = await this.#checkEligibility(input);
    await this.#devices.spendBiometricProof(input.userId, input.deviceId, input.biometricNonce, `device_card_application:${card.id}`);
    const started = await callBank(() => this.#bank.startAgreementVerification({ agreementId: card.agreement_id, requester: input.userId, purpose: 'tokenization' }));
    return { ...started, bankName: card.bank_name };
  }

  /**
   * Step 2: the bank's code confirms the holder; the card data comes from the bank into the
   * vault, the token is drawn and activated, and the first limited-use key batch is issued.
   */
  async provision(input: {
    userId: string; deviceId: string; cardId: string; verificationId: string; smsCode: string; signed: SignedHttpRequest;
  }): Promise<{ card: DeviceCard; batch: IssuedLukBatch; masterKeyCheck: string }> {
    // Keys go only to the device that owns the card: the request must be signed by its key
    // before anything is spent (the bank's verification) or minted.
    await this.#devices.verifySignedRequest(await this.#devices.requireReadyToPay(input.userId, input.deviceId), input.signed);
    const { card: boundCard, device } = await this.#checkEligibility(input);
    const verified = await callBank(() => this.#bank.confirmVerification({ verificationId: input.verificationId, code: input.smsCode, requester: input.userId }));
    if (verified.purpose !== 'tokenization' || verified.cardRef !== boundCard.card_ref) {
      throw errors.verification_not_found('This verification was not started to add this card to a device.', 'verification_id');
    }
    // The verification made an agreement of its own; the bound card's agreement is what the token rides on.
    await callBank(() => this.#bank.revokeAgreement(verified.agreementId));
    const cardData = await callBank(() => this.#bank.getCardForTokenization(boundCard.agreement_id));
    const vaultData: VaultCardData = { pan: cardData.pan, expiryYymm: cardData.expiryYymm, panSequence: cardData.panSequence };

    const created = await transactionWithRetry(this.#db, async (trx) => {
      // Serialises provisioning per device and per card, so the limits hold under concurrency.
      await sql`select pg_advisory_xact_lock(hashtext(${`device-cards:${input.deviceId}`}))`.execute(trx);
      await sql`select pg_advisory_xact_lock(hashtext(${`card-devices:${boundCard.bank_code}:${boundCard.card_ref}`}))`.execute(trx);
      // Checked again under the locks: a concurrent provisioning may have used the last place.
      await this.#checkLimits(trx, input.deviceId, boundCard);
      const now = this.#clock();
      let tokenNumber = drawTokenNumber(cardData.pan.length, cardData.pan.slice(-4));
      while (await trx.selectFrom('device_cards').select('id').where('token_number', '=', tokenNumber).executeTakeFirst()) {
        tokenNumber = drawTokenNumber(cardData.pan.length, cardData.pan.slice(-4));
      }
      const card: DeviceCard = {
        id: newId('dc'), user_id: input.userId, device_id: input.deviceId, bound_card_id: boundCard.id, kind: 'bank',
        bank_code: boundCard.bank_code, bank_name: boundCard.bank_name, card_kind: boundCard.card_kind, card_ref: boundCard.card_ref,
        pan_masked: maskNumber(cardData.pan), pan_last4: cardData.pan.slice(-4), token_number: tokenNumber, token_last4: tokenNumber.slice(-4),
        token_expiry_yymm: cardData.expiryYymm, token_sequence: '00', cryptogram_algorithm: tokenCryptogramAlgorithm,
        status: 'inactive', status_reason: 'provisioned', next_atc: 1, created_at: now, updated_at: now,
      };
      await trx.insertInto('device_cards').values(card).execute();
      await recordCreation(trx, card, { reason: 'provisioned', actor: 'user' });
      await storeInVault(trx, this.#keys, card.id, vaultData, now);
      const active = await this.lifecycle.transition(trx, card.id, 'active', { reason: 'identity_verified', actor: 'user' });
      const batch = await this.#issueBatch(trx, active, lukBatchSizeDefault, now, device.public_key);
      return { card: { ...active, next_atc: batch.batch.atc_first + batch.batch.key_count }, batch };
    });
    const masterKey = tokenMasterKey(this.#keys, created.card.token_number, created.card.token_sequence);
    // A key check value lets the phone confirm its keys came from the same master key; it reveals nothing of the key.
    const masterKeyCheck = limitedUseKey(masterKey, 0).subarray(0, 3).toString('hex');
    masterKey.fill(0);
    return { ...created, masterKeyCheck };
  }

  async #issueBatch(trx: Kysely<PlatformTables>, card: DeviceCard, count: number, now: Date, devicePublicKey: string): Promise<IssuedLukBatch> {
    if (card.next_atc + count - 1 > atcMax) throw errors.device_card_transition_invalid('This device card has used all its transaction counters; add the card again.', 'count');
    const batch: LukBatch = {
      id: newId('luk'), device_card_id: card.id, atc_first: card.next_atc, key_count: count,
      expires_at: new Date(now.getTime() + lukBatchLifetimeMs), status: 'live', created_at: now,
    };
    await trx.insertInto('luk_batches').values(batch).execute();
    await trx.updateTable('device_cards').set({ next_atc: card.next_atc + count }).where('id', '=', card.id).execute();
    const masterKey = tokenMasterKey(this.#keys, card.token_number, card.token_sequence, card.cryptogram_algorithm);
    const keys = Array.from({ length: count }, (_, i) => ({ atc: batch.atc_first + i, key: limitedUseKey(masterKey, batch.atc_first + i, card.cryptogram_algorithm).toString('hex') }));
    masterKey.fill(0);
    const plaintext = Buffer.from(JSON.stringify({ keys }), 'utf8');
    const sealedKeys = sealForDevice(devicePublicKey, plaintext, lukBatchAssociatedData(card.id, batch.id));
    plaintext.fill(0);
    return { batch, sealedKeys };
  }

  /** A fresh batch of limited-use keys for an active device card on an active device (the phone is online). */
  async replenish(input: { userId: string; deviceCardId: string; count?: number | undefined; signed: SignedHttpRequest }): Promise<IssuedLukBatch> {
    const count = input.count ?? lukBatchSizeDefault;
    if (!Number.isInteger(count) || count < 1 || count > lukBatchSizeMax) throw errors.parameter_invalid(`1 to ${lukBatchSizeMax} keys.`, 'count');
    const card = await this.get(input.userId, input.deviceCardId);
    const device = await this.#devices.requireReadyToPay(input.userId, card.device_id);
    // Only the device that owns the card may ask, by a request signed with its own key.
    await this.#devices.verifySignedRequest(device, input.signed);
    return transactionWithRetry(this.#db, async (trx) => {
      const locked = await trx.selectFrom('device_cards').selectAll().where('id', '=', card.id).forUpdate().executeTakeFirstOrThrow();
      if (locked.status !== 'active') throw errors.device_card_transition_invalid(`A ${locked.status} device card gets no new keys.`, 'status', { status: locked.status });
      const now = this.#clock();
      // A batch whose every ATC the TSP has already seen has no key left on the phone: it is
      // superseded by the new one (and its spent ATCs become prunable), so a phone that pays
      // often is never starved of keys by the live-batch cap.
      await trx.updateTable('luk_batches').set({ status: 'superseded' })
        .where('device_card_id', '=', card.id).where('status', '=', 'live')
        .where((eb) => eb(eb.selectFrom('token_atc_uses').select((inner) => inner.fn.countAll<number>().as('n'))
          .whereRef('token_atc_uses.device_card_id', '=', 'luk_batches.device_card_id')
          .whereRef('token_atc_uses.atc', '>=', 'luk_batches.atc_first')
          .where(sql<boolean>`token_atc_uses.atc < luk_batches.atc_first + luk_batches.key_count`), '=', eb.ref('luk_batches.key_count')))
        .execute();
      const live = await trx.selectFrom('luk_batches').select((eb) => eb.fn.countAll<number>().as('n')).where('device_card_id', '=', card.id)
        .where('status', '=', 'live').where('expires_at', '>', now).executeTakeFirstOrThrow();
      if (Number(live.n) >= liveLukBatchesMax) throw errors.rate_limited(`At most ${liveLukBatchesMax} unexpired key batches per device card.`, 'count', { retry_after_s: 3600 });
      return this.#issueBatch(trx, locked, count, now, device.public_key);
    });
  }

  async list(userId: string, deviceId?: string): Promise<DeviceCard[]> {
    let query = this.#db.selectFrom('device_cards').selectAll().where('user_id', '=', userId).where('status', '<>', 'deleted');
    if (deviceId) query = query.where('device_id', '=', deviceId);
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(200).execute();
  }

  /** Per device card, the ids of its batches the TSP still accepts: live and unexpired. */
  async liveKeyBatches(deviceCardIds: readonly string[]): Promise<Map<string, string[]>> {
    const live = new Map<string, string[]>();
    if (deviceCardIds.length === 0) return live;
    const rows = await this.#db.selectFrom('luk_batches').select(['id', 'device_card_id']).where('device_card_id', 'in', deviceCardIds)
      .where('status', '=', 'live').where('expires_at', '>', this.#clock()).orderBy('atc_first').execute();
    for (const row of rows) live.set(row.device_card_id, [...(live.get(row.device_card_id) ?? []), row.id]);
    return live;
  }

  async get(userId: string, deviceCardId: string): Promise<DeviceCard> {
    const card = await this.#db.selectFrom('device_cards').selectAll().where('id', '=', deviceCardId).where('user_id', '=', userId).executeTakeFirst();
    if (!card) throw errors.not_found('No device card with this id on this account.', 'id');
    return card;
  }

  async events(userId: string, deviceCardId: string): Promise<PlatformTables['device_card_events'][]> {
    await this.get(userId, deviceCardId);
    return this.#db.selectFrom('device_card_events').selectAll().where('device_card_id', '=', deviceCardId).orderBy('id').limit(200).execute();
  }

  /** The user suspends, resumes or deletes one of their device cards. Resuming needs an active device. */
  async changeByUser(userId: string, deviceCardId: string, to: 'active' | 'suspended' | 'deleted'): Promise<DeviceCard> {
    const card = await this.get(userId, deviceCardId);
    if (to === 'active') await this.#devices.requireReadyToPay(userId, card.device_id);
    return this.#db.transaction().execute((trx) => this.lifecycle.transition(trx, card.id, to, { reason: 'user_request', actor: 'user' }));
  }

  /**
   * The bank acts on every device card of a PAN (card reported lost, found, replaced, closed).
   * Only the bank's own cards are touched; the answer lists them without the card number.
   */
  async changeByBank(input: { bankCode: string; pan: string; action: 'suspend' | 'resume' | 'delete'; reason: LifecycleChange['reason'] }): Promise<DeviceCard[]> {
    const ids = await deviceCardIdsOfPan(this.#db, this.#keys, input.pan);
    const to = input.action === 'suspend' ? 'suspended' : input.action === 'resume' ? 'active' : 'deleted';
    return this.#db.transaction().execute(async (trx) => {
      const own = await trx.selectFrom('device_cards').select('id').where('id', 'in', ids.length > 0 ? ids : ['-']).where('bank_code', '=', input.bankCode).execute();
      // A resume brings back only the bank's own suspensions, and only on devices still active:
      // a card the user suspended, or one on a device reported lost, stays suspended.
      const eligible = to === 'active'
        ? (await trx.selectFrom('device_cards').innerJoin('devices', 'devices.id', 'device_cards.device_id').select('device_cards.id')
          .where('device_cards.id', 'in', own.length > 0 ? own.map((c) => c.id) : ['-']).where('devices.status', '=', 'active')
          .where('device_cards.status_reason', 'in', ['card_lost', 'card_closed', 'card_replaced']).execute())
        : own;
      return this.lifecycle.transitionWhere(trx, { cardIds: eligible.map((c) => c.id) }, to, { reason: input.reason, actor: 'bank' });
    });
  }

  /** A card unbound from quick pay (its agreement ended) leaves no device card behind. */
  async deleteForBoundCard(boundCardId: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const cards = await trx.selectFrom('device_cards').select('id').where('bound_card_id', '=', boundCardId).where('status', '<>', 'deleted').execute();
      await this.lifecycle.transitionWhere(trx, { cardIds: cards.map((c) => c.id) }, 'deleted', { reason: 'card_unbound', actor: 'user' });
    });
  }

  /**
   * Forgets spent ATCs that can never come back: those of batches that have expired or been
   * retired, and those of deleted device cards — the TSP refuses their ATCs before it looks at
   * `token_atc_uses` (LUK_EXPIRED, LUK_RETIRED, TOKEN_DELETED), so the replay table stays the size
   * of the live key batches. Answers how many rows went.
   */
  async pruneSpentAtcs(): Promise<number> {
    const now = this.#clock();
    const deleted = await this.#db.deleteFrom('token_atc_uses')
      .where((eb) => eb.or([
        eb.exists(eb.selectFrom('luk_batches').select('luk_batches.id')
          .whereRef('luk_batches.device_card_id', '=', 'token_atc_uses.device_card_id')
          .whereRef('luk_batches.atc_first', '<=', 'token_atc_uses.atc')
          .where(sql<boolean>`luk_batches.atc_first + luk_batches.key_count > token_atc_uses.atc`)
          .where((inner) => inner.or([inner('luk_batches.expires_at', '<=', now), inner('luk_batches.status', '<>', 'live')]))),
        eb.exists(eb.selectFrom('device_cards').select('device_cards.id')
          .whereRef('device_cards.id', '=', 'token_atc_uses.device_card_id').where('device_cards.status', '=', 'deleted')),
      ]))
      .executeTakeFirst();
    return Number(deleted.numDeletedRows);
  }

  /** See vault.ts: the one way to a PAN, for the authorization path only. */
  detokenize(tokenNumber: string) {
    return detokenize(this.#db, this.#keys, tokenNumber);
  }

  /** The keys the authorization path needs to verify a device card's cryptograms (see keys.ts). */
  get keys(): TspKeys {
    return this.#keys;
  }
}
