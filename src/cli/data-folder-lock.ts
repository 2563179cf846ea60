/**
 * One writer per data folder. PGlite is an embedded PostgreSQL: two processes opening one data
 * folder corrupt it. `mipay up`, `migrate`, `serve` and `network clearing` take this lock before
 * they open the folder's database; a second one stops at once, naming the process that holds it.
 * The lock is a file created exclusively (`O_EXCL`) holding the owner's pid; a lock whose pid is
 * no longer alive was left by a crash and is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface LockOwner {
  pid: number;
  command: string;
  started_at: string;
}

export class DataFolderLockedError extends Error {
  readonly owner: LockOwner;

  constructor(dataDir: string, owner: LockOwner) {
    super(`the data folder ${dataDir} is in use by \`mipay ${owner.command}\` (pid ${owner.pid}, since ${owner.started_at}): `
      + `stop it first (Ctrl+C in its terminal, or kill ${owner.pid}), or give this command another MIPAY_DATA_DIR`);
    this.name = 'DataFolderLockedError';
    this.owner = owner;
  }
}

export const lockFileName = 'mipay.lock';

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live owner of the folder's lock, if any. */
export function lockOwner(dataDir: string): LockOwner | undefined {
  let owner: LockOwner;
  try {
    owner = JSON.parse(readFileSync(join(dataDir, lockFileName), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
  return Number.isInteger(owner.pid) && owner.pid > 0 && processAlive(owner.pid) ? owner : undefined;
}

/** Takes the folder's lock for this process; throws DataFolderLockedError naming a live owner. */
export function acquireDataFolderLock(dataDir: string, command: string): { release(): void } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, lockFileName);
  const owner: LockOwner = { pid: process.pid, command, started_at: new Date().toISOString() };
  // Two tries: the second after removing a lock its dead owner left behind.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const live = lockOwner(dataDir);
      if (live) throw new DataFolderLockedError(dataDir, live);
      try {
        unlinkSync(path);
      } catch {
        // Another process removed it first; the next try settles who gets it.
      }
      continue;
    }
    writeSync(fd, `${JSON.stringify(owner)}\n`);
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      try {
        const current = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
        if (current.pid === process.pid) unlinkSync(path);
      } catch {
        // Already gone.
      }
    };
    process.once('exit', release);
    return { release };
  }
  const live = lockOwner(dataDir);
  if (live) throw new DataFolderLockedError(dataDir, live);
  throw new Error(`could not take the lock ${path}; try again`);
}
