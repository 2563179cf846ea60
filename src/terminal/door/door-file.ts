// A door reader's configuration and event log in one JSON file (`mipay door …`), written
// atomically (temp file, fsync, rename) with mode 0600: the allowlist holds full UIDs and keys.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { DoorReaderError, type DoorReaderState } from './door-reader.ts';

const fileBytesMax = 8 * 1024 * 1024;

export function loadDoorReader(path: string): DoorReaderState {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT')
      throw new DoorReaderError(`No door reader at ${path}: run \`mipay door create\` first.`, 'door');
    throw error;
  }
  if (raw.length > fileBytesMax) throw new DoorReaderError(`${path} is larger than a door reader file can be.`, 'door');
  let state: DoorReaderState;
  try {
    state = JSON.parse(raw.toString('utf8')) as DoorReaderState;
  } catch {
    throw new DoorReaderError(`${path} is not a door reader file (not JSON).`, 'door');
  }
  if (typeof state?.name !== 'string' || !Array.isArray(state.allowlist) || !Array.isArray(state.events)) {
    throw new DoorReaderError(`${path} is not a door reader file.`, 'door');
  }
  return state;
}

export function saveDoorReader(path: string, state: DoorReaderState, options: { create?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (options.create) {
    // Refuses to replace an existing reader's allowlist.
    closeSync(openSync(path, 'wx', 0o600));
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    const bytes = Buffer.from(`${JSON.stringify(state, null, 1)}\n`);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
