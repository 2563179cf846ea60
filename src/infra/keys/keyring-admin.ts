import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { kekEntryName, kekLengthBytes, KeyringError, readKeyringFile, writeKeyringFile } from './keyring.ts';

/** One key the system needs: a plain key of `lengthBytes`, or a KEK (generation 1 is made). */
export type KeySpec = { name: string; lengthBytes: number } | { name: string; kek: true };

/**
 * `mipay keys init`: writes a new keyring file (mode 0600) holding every key in `specs`, fresh
 * from the CSPRNG. An existing file is never overwritten: its keys are what opens the data.
 * Answers the entry names written.
 */
export function initKeyringFile(path: string, specs: readonly KeySpec[]): string[] {
  if (existsSync(path)) throw new KeyringError(`a keyring already exists at ${path}; it is never overwritten`);
  const keys = new Map<string, Buffer>();
  for (const spec of specs) {
    if ('kek' in spec) keys.set(kekEntryName(spec.name, 1), randomBytes(kekLengthBytes));
    else keys.set(spec.name, randomBytes(spec.lengthBytes));
  }
  writeKeyringFile(path, keys);
  return [...keys.keys()].sort();
}

/**
 * `mipay keys rotate-kek`: adds the next generation of the KEK `name` to the keyring file and
 * answers its id (`kek-<n>`). Old generations stay: rows sealed under them must still open until
 * they are rewrapped, and a backup restored from before the rotation needs them.
 */
export function addKekGeneration(path: string, name: string): string {
  const keys = readKeyringFile(path);
  let newest = 0;
  for (const entry of keys.keys()) {
    const generation = entry.startsWith(`${name}.`) ? entry.slice(name.length + 1) : '';
    if (/^[1-9][0-9]{0,5}$/.test(generation)) newest = Math.max(newest, Number(generation));
  }
  if (newest === 0) throw new KeyringError(`the keyring ${path} has no KEK "${name}" to rotate`);
  keys.set(kekEntryName(name, newest + 1), randomBytes(kekLengthBytes));
  writeKeyringFile(path, keys);
  return `kek-${newest + 1}`;
}
