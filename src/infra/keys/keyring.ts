import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/**
 * The keys that must never sit in the database in clear (DESIGN section 2): key-encryption keys,
 * the TSP's, issuers' and operators' master keys, PVK/CVK, terminal master keys. Each party asks
 * for its keys by name (`network.terminal-kek`, `tsp.imk-ac`, …) and gets the same bytes on every
 * start. A writable keyring (the sandbox) makes a missing key on first use and persists it; a
 * read-only one (production) refuses, so a missing key stops the start instead of silently
 * creating a key nobody backed up.
 */
export interface Keyring {
  /** The key named `name`, exactly `lengthBytes` long. */
  key(name: string, lengthBytes: number): Buffer;
}

export class KeyringError extends Error {
  override name = 'KeyringError';
}

const keyNamePattern = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;
const fileFormat = 'mipay-keyring';

interface KeyringFile {
  format: typeof fileFormat;
  version: 1;
  keys: Record<string, string>;
}

class StoredKeyring implements Keyring {
  readonly #keys: Map<string, Buffer>;
  readonly #persist: ((keys: ReadonlyMap<string, Buffer>) => void) | undefined;
  readonly #writable: boolean;

  constructor(keys: Map<string, Buffer>, writable: boolean, persist?: (keys: ReadonlyMap<string, Buffer>) => void) {
    this.#keys = keys;
    this.#writable = writable;
    this.#persist = persist;
  }

  key(name: string, lengthBytes: number): Buffer {
    assert.match(name, keyNamePattern, `key names are lowercase words joined by . or -: "${name}"`);
    assert.ok(Number.isInteger(lengthBytes) && lengthBytes > 0 && lengthBytes <= 64);
    let key = this.#keys.get(name);
    if (!key) {
      if (!this.#writable) throw new KeyringError(`the keyring has no key "${name}" (run \`mipay keys init\`)`);
      key = randomBytes(lengthBytes);
      this.#keys.set(name, key);
      this.#persist?.(this.#keys);
    }
    if (key.length !== lengthBytes) {
      throw new KeyringError(`the keyring's key "${name}" is ${key.length} bytes, ${lengthBytes} expected`);
    }
    return Buffer.from(key);
  }
}

/** A keyring that lives only in this process: tests and throw-away demos. */
export function createMemoryKeyring(): Keyring {
  return new StoredKeyring(new Map(), true);
}

/**
 * A keyring file (JSON, mode 0600). With `create`, a missing file is made and missing keys are
 * added to it (the sandbox); without, the file must exist and hold every key asked for.
 * A file readable by group or others is refused: the keys would be as open as the file.
 */
export function openFileKeyring(path: string, options: { create: boolean }): Keyring {
  const keys = new Map<string, Buffer>();
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeyringError(`the keyring ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    }
    let parsed: KeyringFile;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as KeyringFile;
    } catch (error) {
      throw new KeyringError(`the keyring ${path} is not valid JSON: ${(error as Error).message}`);
    }
    if (parsed?.format !== fileFormat || parsed.version !== 1 || typeof parsed.keys !== 'object' || parsed.keys === null) {
      throw new KeyringError(`${path} is not a Mi Pay Open keyring (format "${fileFormat}", version 1)`);
    }
    for (const [name, value] of Object.entries(parsed.keys)) {
      if (!keyNamePattern.test(name) || typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
        throw new KeyringError(`the keyring ${path} has a malformed entry "${name}"`);
      }
      keys.set(name, Buffer.from(value, 'base64'));
    }
  } else if (!options.create) {
    throw new KeyringError(`no keyring at ${path} (run \`mipay keys init\` or set MIPAY_KEYRING)`);
  }
  const persist = (current: ReadonlyMap<string, Buffer>) => writeKeyringFile(path, current);
  if (!existsSync(path) && options.create) persist(keys);
  return new StoredKeyring(keys, options.create, persist);
}

/** Writes the whole keyring atomically: a 0600 temporary file, fsync, rename. */
function writeKeyringFile(path: string, keys: ReadonlyMap<string, Buffer>): void {
  const body: KeyringFile = {
    format: fileFormat, version: 1,
    keys: Object.fromEntries([...keys].sort(([a], [b]) => a.localeCompare(b)).map(([name, key]) => [name, key.toString('base64')])),
  };
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
