import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DatabaseConfig } from '../infra/db/database.ts';

export const version: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Where the embedded database and the runtime file live: `MIPAY_DATA_DIR`, default `./.mipay`. */
export function dataDir(): string {
  return resolve(process.env.MIPAY_DATA_DIR ?? '.mipay');
}

/**
 * `DATABASE_URL` selects a PostgreSQL server; without it the parties share an embedded PGlite
 * database in the data folder, so a fresh checkout needs no server at all.
 */
/**
 * The keyring file: `MIPAY_KEYRING`, default `./.mipay-keyring.json` — beside the data folder,
 * never inside it, so a copy of the data folder carries no key that opens it.
 */
export function keyringPath(): string {
  return resolve(process.env.MIPAY_KEYRING ?? '.mipay-keyring.json');
}

export function databaseConfig(): DatabaseConfig {
  const url = process.env.DATABASE_URL;
  if (url) return { kind: 'postgres', url };
  return { kind: 'pglite', dataDir: resolve(dataDir(), 'pglite') };
}

export function describeDatabase(config: DatabaseConfig): string {
  if (config.kind === 'pglite') return `PGlite (embedded) in ${config.dataDir ?? 'memory'}`;
  const url = new URL(config.url);
  return `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}`;
}

export function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a port number (0–65535), not "${raw}"`);
  return port;
}

export const defaultPorts = { platform: 7300, bank: 7301, transit: 7304 } as const;
