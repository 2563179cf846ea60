import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { openDatabase, type Database, type DatabaseConfig } from '../infra/db/database.ts';

/** Entries visited when an existing data folder's modes are tightened: a bound on a runaway walk. */
const entriesMax = 100_000;

/**
 * Makes the data folder private to the user the server runs as (issue 10 §5): the process umask
 * becomes 077, so every file created from now on — PGlite's relation files, its WAL, the
 * runtime file, the emulated terminal and cards — is 0600 and every folder 0700; the folder
 * itself is made 0700, and a folder from an older version (files 0666) is tightened in place.
 * Symbolic links are left alone, never followed.
 */
export function secureDataFolder(path: string): void {
  process.umask(0o077);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  let visited = 0;
  const tighten = (entry: string) => {
    if (++visited > entriesMax) {
      throw new Error(`the data folder ${path} has more than ${entriesMax} entries; not a Mi Pay data folder?`);
    }
    const stat = lstatSync(entry);
    if (stat.isSymbolicLink()) return;
    if (stat.isDirectory()) {
      if ((stat.mode & 0o777) !== 0o700) chmodSync(entry, 0o700);
      for (const name of readdirSync(entry)) tighten(join(entry, name));
    } else if ((stat.mode & 0o777) !== 0o600) {
      chmodSync(entry, 0o600);
    }
  };
  tighten(path);
}

/**
 * Opens the database; for PGlite, the data folder holding it is secured before and again after
 * the open, because PGlite's first start copies its initial cluster in with mode 0666 whatever
 * the umask (files it creates afterwards follow the umask). The folder is 0700 throughout, so
 * those files are never reachable by another user even for that moment.
 */
export async function openSecuredDatabase(config: DatabaseConfig, dataFolder?: string): Promise<Database> {
  const folder = config.kind === 'pglite' && config.dataDir ? dataFolder ?? dirname(config.dataDir) : undefined;
  if (folder) secureDataFolder(folder);
  const database = await openDatabase(config);
  if (folder) secureDataFolder(folder);
  return database;
}

/**
 * The keyring must not live in the data folder: a copy of the folder (a backup, a disk image)
 * would then carry the keys that open it. Throws, naming both paths.
 */
export function assertKeyringOutsideDataFolder(keyringPath: string, dataFolder: string): void {
  const inside = relative(resolve(dataFolder), resolve(keyringPath));
  if (inside !== '' && !inside.startsWith('..') && !isAbsolute(inside)) {
    throw new Error(`the keyring ${keyringPath} is inside the data folder ${dataFolder}; keep it apart (MIPAY_KEYRING) `
      + 'so that a copy of the data folder opens nothing');
  }
}
