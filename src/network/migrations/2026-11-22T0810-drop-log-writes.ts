import { sql, type Kysely } from 'kysely';

/**
 * Drops `network.log_writes` (2026-11-22T0800): measured under the auth bench, one function call
 * per batch cost the server more than the two plain statements it replaced, and one queue for
 * requests and answers slowed the switch; log-writer.ts is back to two statements.
 */
export const dropLogWrites = {
  async up(db: Kysely<any>) {
    await sql.raw(`drop function if exists network.log_writes(text[], text[], text[], text[], text[], text[], text[], text[], text[], text[],
      bigint[], text[], text[], text[], timestamptz[], bigint[], text[], text[], text[], text[], text[], text[], text[], timestamptz[])`).execute(db);
  },
};
