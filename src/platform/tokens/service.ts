import { sql, type Kysely } from 'kysely';
import type { BankClient } from '../../bank/client.ts';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import type { Logger } from '../../infra/log/logger.ts';
import {
  TokenServiceError, type BankLifecycleRequest, type IssuedKeyBatch, type ProvisionedToken, type TokenServiceClient,
  type TokenServiceIssuerFace,
} from '../../network/client.ts';
import { callBank } from '../bank-refusal.ts';
import type { CardService } from '../cards/service.ts';
import type { DeviceService } from '../devices/service.ts';
import type { SignedHttpRequest } from '../devices/signed-request.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';
import { DeviceCardLifecycle, recordCreation, type DeviceCard, type LifecycleChange } from './lifecycle.ts';
import { TspCommands } from './tsp-commands.ts';

/** ≤ 8 bank device cards per device (wallet). */
export const bankDeviceCardsPerDeviceMax = 8;
/** One physical card on ≤ 10 devices. */
export const devicesPerCardMax = 10;
export const lukBatchSizeDefault = 10;
export const lukBatchSizeMax = 50;

/** A key batch as the phone receives it once (src/network/tsp issues and seals it; the platform keeps none of it). */
export type IssuedLukBatch = IssuedKeyBatch;

/** The masked device card number: what the platform keeps of it (first 6, last 4). */
function maskToken(tokenNumber: string): string {
  return `${tokenNumber.slice(0, 6)}${'*'.repeat(tokenNumber.length - 10)}${tokenNumber.slice(-4)}`;
}

/** The TSP's refusals and silences as the platform's errors. */
async function callTsp<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error: unknown) {
    if (error instanceof TokenServiceError) {
      if (error.code === 'too_many_live_batches') throw errors.rate_limited(error.message, 'count', { retry_after_s: 3600 });
      if (error.code === 'token_not_active' || error.code === 'atc_exhausted') throw errors.device_card_transition_invalid(error.message, 'status');
      if (error.code === 'parameter_invalid') throw errors.parameter_invalid(error.message, 'count');
      throw errors.not_found(error.message, 'id');
    }
    throw errors.token_service_unavailable('UnionPay\'s token service did not answer; try again.');
  }
}

/**
 * Device cards, as the wallet server keeps them: a REFERENCE to a token of UnionPay's TSP
 * (src/network/tsp) — its reference id, last 4 of the token and of the card, bank, product,
 * status — on a registered device of the user. The TSP holds the token number, the vault, the
 * keys, the key batches and the ATCs; the platform asks it through `TokenServiceClient`, and
 * tells it of every lifecycle change (`TspCommands`). Provisioning needs the platform, the bank
 * and the TSP online; only paying with already-issued keys works offline.
 */
export class TokenService {
  readonly #db: Kysely<PlatformTables>;
  readonly #bank: BankClient;
  readonly #cards: CardService;
  readonly #devices: DeviceService;
  readonly #tsp: TokenServiceClient;
  readonly #tspIssuers: TokenServiceIssuerFace | undefined;
  readonly #clock: () => Date;
  readonly commands: TspCommands;
  readonly lifecycle: DeviceCardLifecycle;

  constructor(options: {
    db: Kysely<PlatformTables>; bank: BankClient; cards: CardService; devices: DeviceService; tsp: TokenServiceClient; clock: () => Date; logger: Logger;
    /** The TSP's issuer face, for the banks' lifecycle route kept on the platform for compatibility. */
    tspIssuers?: TokenServiceIssuerFace;
  }) {
    this.#tspIssuers = options.tspIssuers;
    this.#db = options.db;
    this.#bank = options.bank;
    this.#cards = options.cards;
    this.#devices = options.devices;
    this.#tsp = options.tsp;
    this.#clock = options.clock;
    this.commands = new TspCommands({ db: options.db, tsp: options.tsp, logger: options.logger, clock: options.clock });
    this.lifecycle = new DeviceCardLifecycle(options.clock, this.commands);
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
  }): Promise<{ card: DeviceCard; token: ProvisionedToken }> {
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
    // The card data passes through to the TSP and is kept nowhere here.
    const id = newId('dc');
    const token: ProvisionedToken = await callTsp(() => this.#tsp.provision({
      walletCardId: id, bankCode: boundCard.bank_code, devicePublicKey: device.public_key, keyCount: lukBatchSizeDefault,
      card: { pan: cardData.pan, expiryYymm: cardData.expiryYymm, panSequence: cardData.panSequence },
    }));
    const maskedPan = `${cardData.pan.slice(0, 6)}${'*'.repeat(cardData.pan.length - 10)}${cardData.pan.slice(-4)}`;
    try {
      const card = await transactionWithRetry(this.#db, async (trx) => {
        // Serialises provisioning per device and per card, so the limits hold under concurrency.
        await sql`select pg_advisory_xact_lock(hashtext(${`device-cards:${input.deviceId}`}))`.execute(trx);
        await sql`select pg_advisory_xact_lock(hashtext(${`card-devices:${boundCard.bank_code}:${boundCard.card_ref}`}))`.execute(trx);
        // Checked again under the locks: a concurrent provisioning may have used the last place.
        await this.#checkLimits(trx, input.deviceId, boundCard);
        const now = this.#clock();
        const inactive: DeviceCard = {
          id, user_id: input.userId, device_id: input.deviceId, bound_card_id: boundCard.id, kind: 'bank',
          bank_code: boundCard.bank_code, bank_name: boundCard.bank_name, card_kind: boundCard.card_kind, card_ref: boundCard.card_ref,
          pan_masked: maskedPan, pan_last4: token.panLast4, token_ref_id: token.tokenReferenceId, token_masked: maskToken(token.tokenNumber),
          token_last4: token.tokenLast4, status: 'inactive', status_reason: 'provisioned', created_at: now, updated_at: now,
        };
        await trx.insertInto('device_cards').values(inactive).execute();
        await recordCreation(trx, inactive, { reason: 'provisioned', actor: 'user' });
        // The TSP made the token active with the provisioning; nothing to tell it.
        return this.lifecycle.transition(trx, id, 'active', { reason: 'identity_verified', actor: 'user' }, { tellTsp: false });
      });
      return { card, token };
    } catch (error) {
      // The limits refused it after all: the token the TSP made goes.
      await this.#tsp.changeStatus({ tokenReferenceId: token.tokenReferenceId, status: 'deleted', reason: 'provisioning_refused' }).catch(() => undefined);
      throw error;
    }
  }

  /** A fresh batch of limited-use keys for an active device card on an active device (the phone is online). */
  async replenish(input: { userId: string; deviceCardId: string; count?: number | undefined; signed: SignedHttpRequest }): Promise<IssuedLukBatch> {
    const count = input.count ?? lukBatchSizeDefault;
    if (!Number.isInteger(count) || count < 1 || count > lukBatchSizeMax) throw errors.parameter_invalid(`1 to ${lukBatchSizeMax} keys.`, 'count');
    const card = await this.get(input.userId, input.deviceCardId);
    const device = await this.#devices.requireReadyToPay(input.userId, card.device_id);
    // Only the device that owns the card may ask, by a request signed with its own key.
    await this.#devices.verifySignedRequest(device, input.signed);
    if (card.status !== 'active') throw errors.device_card_transition_invalid(`A ${card.status} device card gets no new keys.`, 'status', { status: card.status });
    return callTsp(() => this.#tsp.replenish({
      tokenReferenceId: card.token_ref_id, walletCardId: card.id, devicePublicKey: device.public_key, keyCount: count,
    }));
  }

  async list(userId: string, deviceId?: string): Promise<DeviceCard[]> {
    let query = this.#db.selectFrom('device_cards').selectAll().where('user_id', '=', userId).where('status', '<>', 'deleted');
    if (deviceId) query = query.where('device_id', '=', deviceId);
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(200).execute();
  }

  /** Per device card, the ids of its batches the TSP still accepts: live and unexpired. */
  async liveKeyBatches(cards: readonly DeviceCard[]): Promise<Map<string, string[]>> {
    const live = new Map<string, string[]>();
    if (cards.length === 0) return live;
    const byRef = await callTsp(() => this.#tsp.liveKeyBatches(cards.map((c) => c.token_ref_id)));
    for (const card of cards) live.set(card.id, byRef[card.token_ref_id] ?? []);
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
    const changed = await this.#db.transaction().execute((trx) => this.lifecycle.transition(trx, card.id, to, { reason: 'user_request', actor: 'user' }));
    await this.commands.flush();
    return changed;
  }

  /**
   * A bank's lifecycle call on every device card of its card number, relayed to the TSP (whose
   * vault alone knows which tokens ride on a card number); the TSP tells the wallet of each change
   * (`applyTokenStatus`) before it answers. Answers the changed device cards, never the card number.
   */
  async changeByBank(input: BankLifecycleRequest): Promise<DeviceCard[]> {
    if (!this.#tspIssuers) throw errors.token_service_unavailable('No token service is wired to this platform.');
    const tspIssuers = this.#tspIssuers;
    const changed = await callTsp(() => tspIssuers.changeByBank(input));
    if (changed.length === 0) return [];
    return this.#db.selectFrom('device_cards').selectAll().where('token_ref_id', 'in', changed.map((c) => c.tokenReferenceId)).orderBy('id').execute();
  }

  /**
   * The TSP tells the wallet a token's status changed (its bank reported the card lost, found,
   * replaced or closed): the device card follows, recorded with the bank as actor; the phone
   * learns it at its next sync. Unknown references and moves the lifecycle does not allow are
   * ignored (a repeated notice, a card the user deleted meanwhile).
   */
  async applyTokenStatus(event: { tokenReferenceId: string; status: 'active' | 'suspended' | 'deleted'; reason: string }): Promise<void> {
    const reason = (['card_lost', 'card_found', 'card_replaced', 'card_closed'] as const).find((r) => r === event.reason);
    const change: LifecycleChange = { reason: reason ?? 'card_closed', actor: 'bank' };
    await this.#db.transaction().execute(async (trx) => {
      const card = await trx.selectFrom('device_cards').select(['id', 'status']).where('token_ref_id', '=', event.tokenReferenceId).executeTakeFirst();
      if (!card || card.status === event.status) return;
      await this.lifecycle.transitionWhere(trx, { cardIds: [card.id] }, event.status, change, { tellTsp: false });
    });
  }

  /** A card unbound from quick pay (its agreement ended) leaves no device card behind. */
  async deleteForBoundCard(boundCardId: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const cards = await trx.selectFrom('device_cards').select('id').where('bound_card_id', '=', boundCardId).where('status', '<>', 'deleted').execute();
      await this.lifecycle.transitionWhere(trx, { cardIds: cards.map((c) => c.id) }, 'deleted', { reason: 'card_unbound', actor: 'user' });
    });
    await this.commands.flush();
  }
}
