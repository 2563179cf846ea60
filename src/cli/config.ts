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

export type RunMode = 'sandbox' | 'production';

/** `--production` on the command line, or `MIPAY_MODE=production`; the sandbox otherwise. */
export function runMode(productionFlag: boolean, env: NodeJS.ProcessEnv = process.env): RunMode {
  const given = env.MIPAY_MODE ?? '';
  if (given !== '' && given !== 'sandbox' && given !== 'production') throw new Error(`MIPAY_MODE must be sandbox or production, not "${given}"`);
  return productionFlag || given === 'production' ? 'production' : 'sandbox';
}

/** Whether a listen address reaches only this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host) || /^::ffff:127\./i.test(host);
}

/**
 * The address to listen on (`MIPAY_HOST`, default 127.0.0.1). The sandbox hands out SMS codes
 * and card keys to whoever asks, so it binds loopback only unless the operator says otherwise
 * (`--allow-remote` or `MIPAY_ALLOW_REMOTE_SANDBOX=1`), and then it warns.
 */
export function listenHost(mode: RunMode, allowRemoteFlag: boolean, warn: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  const host = env.MIPAY_HOST ?? '127.0.0.1';
  if (mode === 'production' || isLoopbackHost(host)) return host;
  if (!allowRemoteFlag && env.MIPAY_ALLOW_REMOTE_SANDBOX !== '1') {
    throw new Error(`the sandbox binds loopback only, and MIPAY_HOST is ${host}: its sandbox routes hand out SMS codes and card keys `
      + 'to anyone who can reach it. Pass --allow-remote (or MIPAY_ALLOW_REMOTE_SANDBOX=1) to bind it anyway, or run in production mode.');
  }
  warn(`WARNING: the sandbox is listening on ${host}, reachable from other machines: anyone who reaches it can read SMS codes `
    + 'and card keys through /v1/sandbox/*. Use it on a trusted network only.');
  return host;
}
