import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { addKekGeneration, initKeyringFile } from './keyring-admin.ts';
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

  it('keeps KEK generations: new values go under the newest, older ones still open by id', () => {
    const keyring = createMemoryKeyring();
    const first = keyring.keks('tsp.kek').current();
    assert.equal(first.id, 'kek-1');
    assert.equal(first.key.length, 32);
    assert.deepEqual(keyring.keks('tsp.kek').byId('kek-1'), first.key);
    assert.equal(keyring.keks('tsp.kek').byId('kek-2'), undefined);
    assert.equal(keyring.keks('tsp.kek').byId('pii-kek-1'), undefined);
    assert.notDeepEqual(keyring.keks('platform.personal-data-kek').current().key, first.key);
  });

  it('lets a running server learn a KEK generation another process added, without a restart', () => {
    const path = join(folder, 'rotated.json');
    initKeyringFile(path, [{ name: 'tsp.kek', kek: true }, { name: 'tsp.imk-ac', lengthBytes: 16 }]);
    const server = openFileKeyring(path, { create: false });
    const keks = server.keks('tsp.kek');
    assert.equal(keks.current().id, 'kek-1');
    assert.equal(addKekGeneration(path, 'tsp.kek'), 'kek-2');
    // An unknown id makes the server re-read the file at once.
    const second = keks.byId('kek-2');
    assert.ok(second);
    assert.deepEqual(second, openFileKeyring(path, { create: false }).keks('tsp.kek').byId('kek-2'));
    assert.equal(keks.current().id, 'kek-2');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.throws(() => addKekGeneration(path, 'platform.personal-data-kek'), /no KEK "platform.personal-data-kek"/);
    assert.throws(() => initKeyringFile(path, []), /never overwritten/);
  });

  it('adopts an existing key once in a writable keyring, refuses a different one, and refuses all in a read-only one', () => {
    const path = join(folder, 'adopt.json');
    const sandbox = openFileKeyring(path, { create: true });
    const key = Buffer.alloc(16, 7);
    sandbox.adopt('bank.icbc.zpk', key);
    sandbox.adopt('bank.icbc.zpk', key);
    assert.throws(() => sandbox.adopt('bank.icbc.zpk', Buffer.alloc(16, 8)), /already has a different key/);
    const production = openFileKeyring(path, { create: false });
    assert.deepEqual(production.key('bank.icbc.zpk', 16), key);
    assert.throws(() => production.adopt('bank.icbc.pvk', key), /read-only/);
    assert.equal(production.writable, false);
  });

  it('does not lose a generation another process added when a sandbox keyring writes a new key', () => {
    const path = join(folder, 'merge.json');
    const sandbox = openFileKeyring(path, { create: true });
    sandbox.keks('tsp.kek').current();
    addKekGeneration(path, 'tsp.kek');
    sandbox.key('platform.otp-pepper', 32);
    assert.ok(openFileKeyring(path, { create: false }).keks('tsp.kek').byId('kek-2'));
  });
});
