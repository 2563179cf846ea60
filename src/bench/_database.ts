import pg from 'pg';
import { openDatabase, type Database } from '../infra/db/database.ts';

/**
 * The database a bench runs on: with DATABASE_URL, a fresh database `name` on that PostgreSQL
 * server (dropped and created again, so runs do not see each other's rows); without it, an
 * in-memory PGlite.
 */
export async function openBenchDatabase(name: string, poolSizeMax = 20): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) return openDatabase({ kind: 'pglite' });
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const benchUrl = new URL(url);
  benchUrl.pathname = `/${name}`;
  return openDatabase({ kind: 'postgres', url: benchUrl.toString(), poolSizeMax });
}
