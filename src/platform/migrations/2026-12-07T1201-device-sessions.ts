import type { Kysely } from 'kysely';

export const deviceSessions = {
  async up(db: Kysely<any>) {
    // The phone's own session (the one it registered with, or bound later with a device-signed
    // request): ending it, and only it, deletes that phone's bank device cards (issue 12).
    await db.schema.alterTable('devices').addColumn('session_id', 'text').execute();
    await db.schema.createIndex('devices_session_idx').on('devices').column('session_id').execute();
  },
};
