import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import type { DeviceCardChange, DeviceCardsOnDevice } from '../devices/service.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';

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
 * asked; deleting a card also retires its limited-use keys.
 */
export class DeviceCardLifecycle implements DeviceCardsOnDevice {
  readonly #clock: () => Date;

  constructor(clock: () => Date) {
    this.#clock = clock;
  }

  /** One card, refused with `device_card_transition_invalid` when the lifecycle does not allow it. */
  async transition(trx: Kysely<PlatformTables>, cardId: string, to: DeviceCardStatus, change: LifecycleChange): Promise<DeviceCard> {
    const card = await trx.selectFrom('device_cards').selectAll().where('id', '=', cardId).forUpdate().executeTakeFirstOrThrow();
    if (!allowedTransitions[card.status].includes(to)) {
      throw errors.device_card_transition_invalid(`A ${card.status} device card cannot become ${to}.`, 'status', { status: card.status });
    }
    return this.#apply(trx, card, to, change);
  }

  /** Every card matched that may make the move; the others (already there, or deleted) are left alone. */
  async transitionWhere(trx: Kysely<PlatformTables>, where: { deviceId?: string; cardIds?: readonly string[]; kinds?: readonly DeviceCard['kind'][] }, to: DeviceCardStatus, change: LifecycleChange): Promise<DeviceCard[]> {
    const from = (Object.keys(allowedTransitions) as DeviceCardStatus[]).filter((s) => allowedTransitions[s].includes(to));
    if (where.cardIds && where.cardIds.length === 0) return [];
    let query = trx.selectFrom('device_cards').selectAll().where('status', 'in', from);
    if (where.deviceId) query = query.where('device_id', '=', where.deviceId);
    if (where.cardIds) query = query.where('id', 'in', where.cardIds);
    if (where.kinds) query = query.where('kind', 'in', where.kinds);
    const cards = await query.orderBy('id').forUpdate().execute();
    const changed: DeviceCard[] = [];
    for (const card of cards) changed.push(await this.#apply(trx, card, to, change));
    return changed;
  }

  async suspendAll(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange): Promise<number> {
    // Only active cards are suspended; an inactive one (ID&V not finished) is deleted instead,
    // as it never reached the phone.
    const suspended = await this.transitionWhere(trx, { deviceId }, 'suspended', change);
    await this.#deleteInactive(trx, deviceId, change);
    return suspended.length;
  }

  async resumeAfterFound(trx: Kysely<PlatformTables>, deviceId: string, change: DeviceCardChange): Promise<number> {
    const lost = await trx.selectFrom('device_cards').select('id').where('device_id', '=', deviceId)
      .where('status', '=', 'suspended').where('status_reason', '=', 'device_lost').execute();
    const resumed = await this.transitionWhere(trx, { cardIds: lost.map((c) => c.id) }, 'active', change);
    const onDevice = trx.selectFrom('device_cards').select('id').where('device_id', '=', deviceId);
    await trx.updateTable('luk_batches').set({ status: 'superseded' }).where('device_card_id', 'in', onDevice).where('status', '=', 'live').execute();
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

  async #apply(trx: Kysely<PlatformTables>, card: DeviceCard, to: DeviceCardStatus, change: LifecycleChange): Promise<DeviceCard> {
    const now = this.#clock();
    await trx.updateTable('device_cards').set({ status: to, status_reason: change.reason, updated_at: now }).where('id', '=', card.id).execute();
    await trx.insertInto('device_card_events').values({
      id: newId('dce'), device_card_id: card.id, from_status: card.status, to_status: to, reason: change.reason, actor: change.actor, created_at: now,
    }).execute();
    if (to === 'deleted') {
      await trx.updateTable('luk_batches').set({ status: 'superseded' }).where('device_card_id', '=', card.id).where('status', '=', 'live').execute();
    }
    return { ...card, status: to, status_reason: change.reason, updated_at: now };
  }
}
