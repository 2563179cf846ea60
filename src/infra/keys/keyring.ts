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
  /** The generations of the key-encryption key `name` (AES-256): see `KeyEncryptionKeys`. */
  keks(name: string): KeyEncryptionKeys;
  /** Whether a missing key is created (the sandbox) or refused (production). */
  readonly writable: boolean;
  /**
   * Adds a key that already exists elsewhere (a sandbox database from before the keyring);
   * writable keyrings only. The same bytes again are a no-op; different bytes are refused.
   */
  adopt(name: string, key: Buffer): void;
}

/**
 * A key-encryption key with generations, so that a KEK can be rotated while data sealed under
 * the old one still opens: generation n is kept as the entry `<name>.<n>` and named `kek-<n>`
 * in sealed rows. New data is sealed under the newest generation; `mipay keys rotate-kek` adds a
 * generation and rewraps the data keys, and a running server that meets a generation it does
 * not know re-reads the keyring file (and looks for a newer one at most once a second).
 */
export interface KeyEncryptionKeys {
  /** The newest generation: what new values are sealed under. */
  current(): { id: string; key: Buffer };
  /** The generation `id` (`kek-<n>`), or undefined when the keyring has none by that id even after a re-read. */
  byId(id: string): Buffer | undefined;
}

export const kekLengthBytes = 32;
const kekIdPattern = /^kek-([1-9][0-9]{0,5})$/;

export function kekEntryName(name: string, generation: number): string {
  return `${name}.${generation}`;
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
  readonly #reload: (() => Map<string, Buffer> | undefined) | undefined;
  readonly writable: boolean;
  #checkedAtMs = 0;

  constructor(keys: Map<string, Buffer>, writable: boolean, persist?: (keys: ReadonlyMap<string, Buffer>) => void,
    reload?: () => Map<string, Buffer> | undefined) {
    this.#keys = keys;
    this.writable = writable;
    this.#persist = persist;
    this.#reload = reload;
  }

  key(name: string, lengthBytes: number): Buffer {
    assert.match(name, keyNamePattern, `key names are lowercase words joined by . or -: "${name}"`);
    assert.ok(Number.isInteger(lengthBytes) && lengthBytes > 0 && lengthBytes <= 64);
    let key = this.#keys.get(name);
    if (!key) {
      if (!this.writable) throw new KeyringError(`the keyring has no key "${name}" (run \`mipay keys init\`)`);
      key = randomBytes(lengthBytes);
      this.#keys.set(name, key);
      this.#persist?.(this.#keys);
    }
    if (key.length !== lengthBytes) {
      throw new KeyringError(`the keyring's key "${name}" is ${key.length} bytes, ${lengthBytes} expected`);
    }
    return Buffer.from(key);
  }

  adopt(name: string, key: Buffer): void {
    assert.match(name, keyNamePattern);
    if (!this.writable) throw new KeyringError(`the keyring is read-only; it cannot take the key "${name}"`);
    const existing = this.#keys.get(name);
    if (existing?.equals(key)) return;
    if (existing) throw new KeyringError(`the keyring already has a different key "${name}"`);
    this.#keys.set(name, Buffer.from(key));
    this.#persist?.(this.#keys);
  }

  keks(name: string): KeyEncryptionKeys {
    assert.match(name, keyNamePattern);
    return {
      current: () => {
        this.#maybeReload(1_000);
        let generation = this.#newestGeneration(name);
        if (generation === 0) {
          this.key(kekEntryName(name, 1), kekLengthBytes);
          generation = 1;
        }
        return { id: `kek-${generation}`, key: this.key(kekEntryName(name, generation), kekLengthBytes) };
      },
      byId: (id) => {
        const generation = kekIdPattern.exec(id)?.[1];
        if (!generation) return undefined;
        const entry = kekEntryName(name, Number(generation));
        // A stat of the file, and a read only if it changed: cheap, and unknown ids come only from our own rows.
        if (!this.#keys.has(entry)) this.#maybeReload(0);
        const key = this.#keys.get(entry);
        return key ? Buffer.from(key) : undefined;
      },
    };
  }

  #newestGeneration(name: string): number {
    let newest = 0;
    for (const entry of this.#keys.keys()) {
      if (!entry.startsWith(`${name}.`)) continue;
      const generation = entry.slice(name.length + 1);
      if (/^[1-9][0-9]{0,5}$/.test(generation)) newest = Math.max(newest, Number(generation));
    }
    return newest;
  }

  /** Re-reads the backing file (another process may have rotated a KEK), at most once per `spacingMs`. */
  #maybeReload(spacingMs: number): void {
    if (!this.#reload || (spacingMs > 0 && Date.now() - this.#checkedAtMs < spacingMs)) return;
    this.#checkedAtMs = Date.now();
    const fresh = this.#reload();
    if (!fresh) return;
    for (const [name, key] of fresh) if (!this.#keys.has(name)) this.#keys.set(name, key);
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
  let keys = new Map<string, Buffer>();
  let seen = '';
  if (existsSync(path)) {
    keys = readKeyringFile(path);
    seen = fileStamp(path);
  } else if (!options.create) {
    throw new KeyringError(`no keyring at ${path} (run \`mipay keys init\` or set MIPAY_KEYRING)`);
  }
  // A writer merges what is on disk first, so a rotation made by another process is never lost.
  const persist = (current: ReadonlyMap<string, Buffer>) => {
    const merged = existsSync(path) ? readKeyringFile(path) : new Map<string, Buffer>();
    for (const [name, key] of current) merged.set(name, key);
    writeKeyringFile(path, merged);
    seen = fileStamp(path);
  };
  const reload = () => {
    const stamp = existsSync(path) ? fileStamp(path) : '';
    if (stamp === seen || stamp === '') return undefined;
    seen = stamp;
    return readKeyringFile(path);
  };
  if (!existsSync(path) && options.create) persist(keys);
  return new StoredKeyring(keys, options.create, persist, reload);
}

function fileStamp(path: string): string {
  const stat = statSync(path);
  return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
}

/** Reads and checks a keyring file: mode 0600 or stricter, the format, every entry well formed. */
export function readKeyringFile(path: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
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
  return keys;
}

/** Writes the whole keyring atomically: a 0600 temporary file, fsync, rename. */
export function writeKeyringFile(path: string, keys: ReadonlyMap<string, Buffer>): void {
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
