import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.ts';

/** Where a party's data lives: the embedded PGlite (default) or a real PostgreSQL server. */
export type DatabaseConfig =
  | { kind: 'pglite'; dataDir?: string; loadDataDir?: Blob }
  | { kind: 'postgres'; url: string; poolSizeMax?: number };

/**
 * One database, shared by parties that each keep their tables in their own schema
 * (`platform`, `bank`, `network`). A party only ever sees its own schema through `forSchema`.
 */
export interface Database {
  readonly kind: DatabaseConfig['kind'];
  /**
   * A Kysely instance whose unqualified table names resolve in `schema`. Only tables named
   * through the query builder are qualified: a table written inside a raw sql`` fragment is
   * not, so raw fragments may name columns and functions but never tables.
   */
  forSchema<DB>(schema: string): Kysely<DB>;
  /** The unscoped instance, for migrations and administration only. */
  readonly root: Kysely<any>;
  close(): Promise<void>;
}

const INT8_OID = 20;
const poolSizeDefault = 10;

/** Opens a database. Both engines return int8 columns as bigint: money is never a `number`. */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.kind === 'pglite') {
    if (config.dataDir) mkdirSync(config.dataDir, { recursive: true });
    const pglite = new PGlite({
      ...(config.dataDir ? { dataDir: config.dataDir } : {}),
      ...(config.loadDataDir ? { loadDataDir: config.loadDataDir } : {}),
      parsers: { [INT8_OID]: (value: string) => BigInt(value) },
    });
    await pglite.waitReady;
    const root = new Kysely<any>({ dialect: new PGliteDialect(pglite) });
    return makeDatabase('pglite', root, async () => {
      await root.destroy();
      await pglite.close();
    });
  }
  const pool = new pg.Pool({
    Client: PreparingClient,
    connectionString: config.url,
    max: config.poolSizeMax ?? poolSizeDefault,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle pooled connection can be cut by the server (a restart, an administrator, a dropped
  // test database). The pool discards such a client by itself; without a listener, pg would
  // raise the event as an uncaught exception and bring the whole process down.
  pool.on('error', () => {});
  const root = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  return makeDatabase('postgres', root, () => root.destroy());
}

/**
 * Named prepared statements for the texts this process runs again and again. A parameterised
 * text seen `preparedAfterRuns` times is from then on run as a named statement, so each pooled
 * connection parses and plans it once instead of at every call: the hot paths (the network's
 * log, the bank's writes, the token service's reads) repeat a few texts thousands of times a
 * second, and planning was as costly as running them. Bounded: at most `preparedTextsMax` texts
 * are prepared (per connection too) and `countedTextsMax` counted, so generated texts cannot
 * fill the server's memory. Statements are session state, untouched by rollbacks; a text whose
 * Parse fails is parsed again next time (pg forgets it).
 */
const preparedAfterRuns = 3;
const preparedTextsMax = 300;
const countedTextsMax = 5_000;
const runsOfText = new Map<string, number>();
const preparedNames = new Map<string, string>();

/** The statement name to run `text` under, once it has earned one. */
export function preparedStatementName(text: string): string | undefined {
  const name = preparedNames.get(text);
  if (name !== undefined || preparedNames.size >= preparedTextsMax) return name;
  const runs = (runsOfText.get(text) ?? 0) + 1;
  if (runs < preparedAfterRuns) {
    if (runs > 1 || runsOfText.size < countedTextsMax) runsOfText.set(text, runs);
    return undefined;
  }
  runsOfText.delete(text);
  const named = `mipay_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
  preparedNames.set(text, named);
  return named;
}

/** PostgreSQL refuses to run a prepared statement whose result columns changed since it was prepared (a migration ran meanwhile). */
function isResultTypeChange(error: unknown): boolean {
  return (error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test(String((error as Error).message));
}

/**
 * pg's client, running Kysely's parameterised queries (`query(text, values)`) as named statements
 * once they repeat. A statement whose tables a migration changed under it (`mipay migrate` while
 * `mipay up` runs) is prepared again under a new name on this connection; when it failed outside
 * a transaction it is retried at once, inside one the transaction fails as any error fails it and
 * the next run succeeds.
 */
class PreparingClient extends pg.Client {
  readonly #renamed = new Map<string, string>();

  override query(...args: any[]): any {
    const [text, values] = args;
    if (args.length === 2 && typeof text === 'string' && Array.isArray(values) && values.length > 0) {
      const name = preparedStatementName(text);
      if (name) return this.#runPrepared(name, text, values);
    }
    return (super.query as (...a: any[]) => any)(...args);
  }

  async #runPrepared(name: string, text: string, values: unknown[]): Promise<unknown> {
    const outsideTransaction = this.getTransactionStatus() === 'I';
    const current = this.#renamed.get(name) ?? name;
    try {
      return await super.query({ name: current, text, values });
    } catch (error) {
      if (!isResultTypeChange(error)) throw error;
      const next = `${name}_${randomBytes(4).toString('hex')}`;
      this.#renamed.set(name, next);
      if (!outsideTransaction) throw error;
      return super.query({ name: next, text, values });
    }
  }
}

function makeDatabase(kind: Database['kind'], root: Kysely<any>, close: () => Promise<void>): Database {
  const scoped = new Map<string, Kysely<any>>();
  let closed = false;
  return {
    kind,
    root,
    forSchema<DB>(schema: string): Kysely<DB> {
      assert.match(schema, /^[a-z][a-z0-9_]*$/, 'schema names are plain identifiers');
      let db = scoped.get(schema);
      if (!db) {
        db = root.withSchema(schema);
        scoped.set(schema, db);
      }
      return db as Kysely<DB>;
    },
    async close() {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

/** A party's migrations: timestamp-prefixed names, each run against that party's schema. */
export type SchemaMigrations = Record<string, { up(db: Kysely<any>): Promise<void> }>;

/**
 * Brings one party's schema up to date. The migration table lives inside the party's schema,
 * so parties that share a database never see each other's migration history.
 */
export async function migrateSchema(database: Database, schema: string, migrations: SchemaMigrations): Promise<string[]> {
  await sql`create schema if not exists ${sql.id(schema)}`.execute(database.root);
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, migration] of Object.entries(migrations)) {
        // `trx` is the migrator's transaction: on PGlite any other handle would wait for it forever.
        out[name] = { up: (trx) => migration.up(trx.withSchema(schema)) };
      }
      return out;
    },
  };
  const migrator = new Migrator({
    db: database.root,
    provider,
    migrationTableSchema: schema,
    // Features land from parallel branches: a database that already ran a later-named migration
    // (a developer's sandbox, a staging server) still takes an earlier-named one that lands after
    // it. Each migration is written to stand on its own, not on the ones named after it.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

const retryableSqlStates = new Set(['40001', '40P01']);

/** True for PostgreSQL serialization failures and deadlocks: the transaction may simply run again. */
export function isRetryableTransactionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && retryableSqlStates.has(code);
}

/**
 * Runs `work` in a transaction, and again when PostgreSQL reports a serialization failure or a
 * deadlock: such a failure says "try again", never "insufficient funds".
 */
export async function transactionWithRetry<DB, T>(
  db: Kysely<DB>,
  work: (trx: Kysely<DB>) => Promise<T>,
  options: { isolation?: 'read committed' | 'repeatable read' | 'serializable'; attemptsMax?: number } = {},
): Promise<T> {
  const attemptsMax = options.attemptsMax ?? 12;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().setIsolationLevel(options.isolation ?? 'read committed').execute(work);
    } catch (error) {
      if (!isRetryableTransactionError(error) || attempt >= attemptsMax) throw error;
      const backoffMs = Math.min(100, 2 ** attempt) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }
}
