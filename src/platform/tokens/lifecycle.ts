import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import type { DeviceCardChange, DeviceCardsOnDevice } from '../devices/service.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';
import type { TspCommands } from './tsp-commands.ts';

export type DeviceCard = PlatformTables['device_cards'];
export type DeviceCardStatus = DeviceCard['status'];

/** inactive → active ↔ suspended → deleted; deleted is final. */
export const allowedTransitions: Readonly<Record<DeviceCardStatus, readonly DeviceCardStatus[]>> = {
  inactive: ['active', 'deleted'],
  active: ['suspended', 'deleted'],
  suspended: ['active', 'deleted'],
  deleted: [],
};

export type LifecycleReason =
  | 'provisioned' | 'identity_verified' | 'user_request' | DeviceCardChange['reason']
  | 'card_lost' | 'card_found' | 'card_replaced' | 'card_closed' | 'card_unbound';
export type LifecycleActor = 'user' | 'bank' | 'platform';
export interface LifecycleChange { reason: LifecycleReason; actor: LifecycleActor }

/**
 * Which device cards survive logout and find-device off: transit cards do (DESIGN section 3),
 * bank cards do not. Transit cards do not exist yet; the rule is here so they need no change.
 */
export const kindsDeletedOnLogout: readonly DeviceCard['kind'][] = ['bank'];

/** Records a new device card's first state, inside the caller's transaction. */
export async function recordCreation(trx: Kysely<PlatformTables>, card: DeviceCard, change: LifecycleChange): Promise<void> {
  await trx.insertInto('device_card_events').values({
    id: newId('dce'), device_card_id: card.id, from_status: null, to_status: card.status, reason: change.reason, actor: change.actor, created_at: card.updated_at,
  }).execute();
}

/**
 * Moves device cards through their lifecycle, recording every change with its reason and who
 * asked, and tells the TSP (which retires a deleted card's limited-use keys) through
 * `TspCommands` once the change has committed.
 */
export class DeviceCardLifecycle implements DeviceCardsOnDevice {
  readonly #clock: () => Date;
  readonly #tsp: TspCommands;

  constructor(clock: () => Date, tsp: TspCommands) {
    this.#clock = clock;
    this.#tsp = tsp;
  }

  /** After the transaction of a change committed: the TSP hears of it now (and again later if it did not answer). */
  afterCommit(): Promise<void> {
    return this.#tsp.flush();
  }

  /** One card, refused with `device_card_transition_invalid` when the lifecycle does not allow it. */
  async transition(trx: Kysely<PlatformTables>, cardId: string, to: DeviceCardStatus, change: LifecycleChange, options: { tellTsp?: boolean } = {}): Promise<DeviceCard> {
    const card = await trx.selectFrom('device_cards').selectAll().where('id', '=', cardId).forUpdate().executeTakeFirstOrThrow();
    if (!allowedTransitions[card.status].includes(to)) {
      throw errors.device_card_transition_invalid(`A ${card.status} device card cannot become ${to}.`, 'status', { status: card.status });
    }
    return this.#apply(trx, card, to, change, options.tellTsp ?? true);
  }

  /** Every card matched that may make the move; the others (already there, or deleted) are left alone. */
  async transitionWhere(
    trx: Kysely<PlatformTables>, where: { deviceId?: string; cardIds?: readonly string[]; kinds?: readonly DeviceCard['kind'][] },
    to: DeviceCardStatus, change: LifecycleChange, options: { tellTsp?: boolean } = {},
  ): Promise<DeviceCard[]> {
    const from = (Object.keys(allowedTransitions) as DeviceCardStatus[]).filter((s) => allowedTransitions[s].includes(to));
    if (where.cardIds && where.cardIds.length === 0) return [];
    let query = trx.selectFrom('device_cards').selectAll().where('status', 'in', from);
    if (where.deviceId) query = query.where('device_id', '=', where.deviceId);
    if (where.cardIds) query = query.where('id', 'in', where.cardIds);
    if (where.kinds) query = query.where('kind', 'in', where.kinds);
    const cards = await query.orderBy('id').forUpdate().execute();
    const changed: DeviceCard[] = [];
    for (const card of cards) changed.push(await this.#apply(trx, card, to, change, options.tellTsp ?? true));
    return changed;
  }

  async suspendAll(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange): Promise<number> {
    // Only active cards are suspended; an inactive one (ID&V not finished) is deleted instead,
    // as it never reached the phone.
    const suspended = await this.transitionWhere(trx, { deviceId }, 'suspended', change);
    await this.#deleteInactive(trx, deviceId, change);
    // Cards already suspended (by their bank or the user) stay so here, but the TSP learns their
    // phone is lost: nothing, not even a refund, reaches a lost phone, and a bank's "found" does
    // not bring them back.
    const already = await trx.selectFrom('device_cards').select('token_ref_id').where('device_id', '=', deviceId)
      .where('status', '=', 'suspended').where('status_reason', '<>', change.reason).execute();
    for (const card of already) await this.#tsp.add(trx, { tokenRefId: card.token_ref_id, status: 'suspended', reason: change.reason });
    return suspended.length;
  }

  async resumeAfterFound(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange): Promise<number> {
    const lost = await trx.selectFrom('device_cards').select('id').where('device_id', '=', deviceId)
      .where('status', '=', 'suspended').where('status_reason', '=', 'device_lost').execute();
    const resumed = await this.transitionWhere(trx, { cardIds: lost.map((c) => c.id) }, 'active', change);
    // Every key the phone held is retired at the TSP, resumed or not.
    // Cards still suspended (by their bank or the user) get their own reason back at the TSP.
    const onDevice = await trx.selectFrom('device_cards').select(['token_ref_id', 'status', 'status_reason']).where('device_id', '=', deviceId)
      .where('status', 'in', ['active', 'suspended']).execute();
    for (const card of onDevice) {
      await this.#tsp.add(trx, {
        tokenRefId: card.token_ref_id, status: card.status as 'active' | 'suspended', reason: card.status_reason, retireKeys: true,
      });
    }
    return resumed.length;
  }

  async deleteAll(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange, scope: 'all' | 'bank_only'): Promise<number> {
    const kinds = scope === 'bank_only' ? kindsDeletedOnLogout : undefined;
    return (await this.transitionWhere(trx, { deviceId, ...(kinds ? { kinds } : {}) }, 'deleted', change)).length;
  }

  async #deleteInactive(trx: Kysely<PlatformTables>, deviceId: string, change: LifecycleChange): Promise<void> {
    const inactive = await trx.selectFrom('device_cards').select('id').where('device_id', '=', deviceId).where('status', '=', 'inactive').execute();
    if (inactive.length > 0) await this.transitionWhere(trx, { cardIds: inactive.map((c) => c.id) }, 'deleted', change);
  }

  async #apply(trx: Kysely<PlatformTables>, card: DeviceCard, to: DeviceCardStatus, change: LifecycleChange, tellTsp: boolean): Promise<DeviceCard> {
    const now = this.#clock();
    await trx.updateTable('device_cards').set({ status: to, status_reason: change.reason, updated_at: now }).where('id', '=', card.id).execute();
    await trx.insertInto('device_card_events').values({
      id: newId('dce'), device_card_id: card.id, from_status: card.status, to_status: to, reason: change.reason, actor: change.actor, created_at: now,
    }).execute();
    if (tellTsp && to !== 'inactive') await this.#tsp.add(trx, { tokenRefId: card.token_ref_id, status: to, reason: change.reason });
    return { ...card, status: to, status_reason: change.reason, updated_at: now };
  }
}
