import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createMemoryKeyring, KeyringError, openFileKeyring } from './keyring.ts';

const folder = mkdtempSync(join(tmpdir(), 'mipay-keyring-'));
after(() => rmSync(folder, { recursive: true, force: true }));

describe('keyring', () => {
  it('gives the same key on every ask, and different keys to different names', () => {
    const keyring = createMemoryKeyring();
    const a = keyring.key('network.terminal-kek', 32);
    assert.equal(a.length, 32);
    assert.deepEqual(keyring.key('network.terminal-kek', 32), a);
    assert.notDeepEqual(keyring.key('tsp.imk-ac', 32), a);
    assert.throws(() => keyring.key('network.terminal-kek', 16), KeyringError);
  });

  it('keeps a sandbox file at mode 0600 that a second open reads back', () => {
    const path = join(folder, 'sandbox.json');
    const key = openFileKeyring(path, { create: true }).key('bank.cmb.pvk', 16);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(openFileKeyring(path, { create: false }).key('bank.cmb.pvk', 16), key);
    assert.doesNotMatch(readFileSync(path, 'utf8'), new RegExp(key.toString('hex')));
  });

  it('refuses a missing file, a missing key, a file others can read and a damaged file when read-only', () => {
    assert.throws(() => openFileKeyring(join(folder, 'absent.json'), { create: false }), /no keyring at/);
    const path = join(folder, 'production.json');
    openFileKeyring(path, { create: true }).key('platform.kek', 32);
    assert.throws(() => openFileKeyring(path, { create: false }).key('tsp.imk-ac', 16), /has no key "tsp.imk-ac"/);
    chmodSync(path, 0o644);
    assert.throws(() => openFileKeyring(path, { create: false }), /readable by others/);
    const damaged = join(folder, 'damaged.json');
    writeFileSync(damaged, '{"format":"mipay-keyring","version":1,"keys":{"Bad Name":"AA=="}}', { mode: 0o600 });
    assert.throws(() => openFileKeyring(damaged, { create: false }), /malformed entry/);
  });
});
