import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import { errors } from '../errors.ts';
import type { PlatformTables } from '../tables.ts';

export type DoorCardBackup = PlatformTables['door_card_backups'];

export const doorCardBackupsMax = 50;
/** A masked UID as the phone shows it: the first and last byte, every byte between as `**`. */
export const maskedUidPattern = /^[0-9A-F]{2}(?::\*\*){2}:[0-9A-F]{2}$|^[0-9A-F]{2}(?::\*\*){5}:[0-9A-F]{2}$/;

/**
 * Backups of door cards for the user center: only what the user chose to send — a name, the
 * masked UID, the card type. The card itself (UID, keys, memory) never leaves the phone.
 */
export class DoorCardBackupService {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;

  constructor(db: Kysely<PlatformTables>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Creates the backup of a phone's door card, or updates it (same `card_ref`). */
  async backUp(
    userId: string,
    input: { cardRef: string; name: string; uidMasked: string; cardType: DoorCardBackup['card_type'] },
  ): Promise<DoorCardBackup> {
    if (!maskedUidPattern.test(input.uidMasked)) {
      throw errors.parameter_invalid(
        'uid_masked must be a masked 4- or 7-byte UID such as 04:**:**:A1; the full UID never leaves the phone.',
        'uid_masked',
      );
    }
    const now = this.#clock();
    return this.#db.transaction().execute(async (trx) => {
      // One writer per account at a time, so the limit holds under concurrent backups.
      await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().executeTakeFirstOrThrow();
      const existing = await trx
        .selectFrom('door_card_backups')
        .select('id')
        .where('user_id', '=', userId)
        .where('card_ref', '=', input.cardRef)
        .executeTakeFirst();
      if (existing) {
        return trx
          .updateTable('door_card_backups')
          .set({ name: input.name, uid_masked: input.uidMasked, card_type: input.cardType, updated_at: now })
          .where('id', '=', existing.id)
          .returningAll()
          .executeTakeFirstOrThrow();
      }
      const { count } = await trx
        .selectFrom('door_card_backups')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      if (Number(count) >= doorCardBackupsMax)
        throw errors.door_card_backups_limit(`This account already backs up ${doorCardBackupsMax} door cards.`);
      return trx
        .insertInto('door_card_backups')
        .values({
          id: newId('dcb'),
          user_id: userId,
          card_ref: input.cardRef,
          name: input.name,
          uid_masked: input.uidMasked,
          card_type: input.cardType,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  async list(userId: string): Promise<DoorCardBackup[]> {
    return this.#db
      .selectFrom('door_card_backups')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  async delete(userId: string, id: string): Promise<DoorCardBackup> {
    const deleted = await this.#db
      .deleteFrom('door_card_backups')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .returningAll()
      .executeTakeFirst();
    if (!deleted) throw errors.not_found('No door card backup with this id for this account.', 'id');
    return deleted;
  }
}
