import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { openDatabase, type Database } from './database.ts';

/**
 * A fresh, empty database for one test file, on the engine the suite runs on:
 * `MIPAY_TEST_DB=pglite` (default) gives an in-memory PGlite, started from the blank data
 * directory that scripts/test.mjs prepared once (`MIPAY_TEST_PGLITE_DUMP`) so each file skips
 * initdb; `MIPAY_TEST_DB=postgres` creates a new database on the server at `TEST_DATABASE_URL`
 * and drops it on close.
 */
export async function openTestDatabase(): Promise<Database> {
  if ((process.env.MIPAY_TEST_DB ?? 'pglite') === 'pglite') {
    const dump = process.env.MIPAY_TEST_PGLITE_DUMP;
    return openDatabase({
      kind: 'pglite',
      ...(dump ? { loadDataDir: new Blob([readFileSync(dump)]) } : {}),
    });
  }
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('MIPAY_TEST_DB=postgres needs TEST_DATABASE_URL');
  const name = `mipay_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSizeMax: 20 });
  const close = database.close.bind(database);
  return {
    ...database,
    forSchema: database.forSchema.bind(database),
    async close() {
      await close();
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
