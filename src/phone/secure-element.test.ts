import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SecureElementFile, STATE_FILE_FORMAT, STATE_FILE_VERSION } from './secure-element.ts';
import { rejectsWith } from './test-secure-element.ts';

const dir = mkdtempSync(join(tmpdir(), 'mipay-se-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cheap = { n: 2 ** 10, r: 8, p: 1 };
let fileCounter = 0;
const newPath = () => join(dir, `phone-${++fileCounter}.se`);
const secret = { luk: '0123456789abcdef0123456789abcdef', token: '6299901234567890123', nested: { list: [1, 2, 3] } };

describe('the phone\'s secure element (encrypted state file)', () => {
  test('round trip: what is saved opens again with the passphrase; nothing secret is readable in the file; mode 0600', async () => {
    const path = newPath();
    const file = await SecureElementFile.create(path, 'correct horse battery', secret, cheap);
    file.update({ ...secret, nested: { list: [4] } });
    const reopened = await SecureElementFile.open<typeof secret>(path, 'correct horse battery');
    assert.deepEqual(reopened.state, { ...secret, nested: { list: [4] } });
    const raw = readFileSync(path, 'utf8');
    assert.ok(!raw.includes(secret.luk) && !raw.includes(secret.token) && !raw.includes('luk'), 'the contents are encrypted');
    const envelope = JSON.parse(raw);
    assert.equal(envelope.format, STATE_FILE_FORMAT);
    assert.equal(envelope.version, STATE_FILE_VERSION);
    assert.deepEqual([envelope.kdf.name, envelope.kdf.n, envelope.kdf.r, envelope.kdf.p, envelope.kdf.key_length], ['scrypt', 2 ** 10, 8, 1, 32], 'KDF parameters recorded');
    assert.equal(Buffer.from(envelope.kdf.salt, 'base64').length, 16);
    assert.equal(envelope.cipher.name, 'aes-256-gcm');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('each save uses a fresh IV: the same state never gives the same ciphertext', async () => {
    const path = newPath();
    const file = await SecureElementFile.create(path, 'correct horse battery', secret, cheap);
    const first = JSON.parse(readFileSync(path, 'utf8'));
    file.save();
    const second = JSON.parse(readFileSync(path, 'utf8'));
    assert.notEqual(first.cipher.iv, second.cipher.iv);
    assert.notEqual(first.ciphertext, second.ciphertext);
    assert.equal(first.kdf.salt, second.kdf.salt);
  });

  test('a wrong passphrase is a clear error and leaves the file as it was', async () => {
    const path = newPath();
    await SecureElementFile.create(path, 'correct horse battery', secret, cheap);
    const before = readFileSync(path);
    await rejectsWith(SecureElementFile.open(path, 'wrong horse battery'), 'wrong_passphrase', /Wrong passphrase/);
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual((await SecureElementFile.open(path, 'correct horse battery')).state, secret);
  });

  test('any altered byte of the ciphertext, tag, IV or header is detected', async () => {
    const path = newPath();
    await SecureElementFile.create(path, 'correct horse battery', secret, cheap);
    const original = JSON.parse(readFileSync(path, 'utf8'));
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[bytes.length - 1]! ^= 0x01;
      return bytes.toString('base64');
    };
    const cases: [string, (e: any) => void, string][] = [
      ['ciphertext', (e) => { e.ciphertext = flip(e.ciphertext); }, 'tampered'],
      ['tag', (e) => { e.cipher.tag = flip(e.cipher.tag); }, 'tampered'],
      ['iv', (e) => { e.cipher.iv = flip(e.cipher.iv); }, 'tampered'],
      ['salt', (e) => { e.kdf.salt = flip(e.kdf.salt); }, 'wrong_passphrase'],
      ['cost', (e) => { e.kdf.n = 2 ** 11; }, 'wrong_passphrase'],
    ];
    for (const [what, change, code] of cases) {
      const copy = structuredClone(original);
      change(copy);
      writeFileSync(path, JSON.stringify(copy));
      await rejectsWith(SecureElementFile.open(path, 'correct horse battery'), code, code === 'tampered' ? /altered or damaged/ : /Wrong passphrase .*header was altered/);
      void what;
    }
    writeFileSync(path, JSON.stringify({ ...original, version: 2 }));
    await rejectsWith(SecureElementFile.open(path, 'correct horse battery'), 'unsupported_version', /version 2/);
    writeFileSync(path, JSON.stringify({ ...original, kdf: { ...original.kdf, n: 2 ** 30 } }));
    await rejectsWith(SecureElementFile.open(path, 'correct horse battery'), 'malformed', /kdf\.n/);
    // The KDF cost in the header is the attacker's: anything above the tight bounds is refused
    // before scrypt runs (a header asking for 2^20 × 8 would take seconds and 1 GiB per open).
    const crafted: Array<[{ n: number; r: number; p: number }, RegExp]> = [
      [{ n: 2 ** 17, r: 8, p: 1 }, /kdf\.n/], [{ n: 2 ** 20, r: 8, p: 1 }, /kdf\.n/], [{ n: 2 ** 15, r: 16, p: 1 }, /kdf\.r\/p/],
      [{ n: 2 ** 15, r: 8, p: 4 }, /kdf\.r\/p/], [{ n: 2 ** 16, r: 8, p: 2 }, /kdf cost/], [{ n: 3, r: 1, p: 1 }, /kdf\.n/],
      [{ n: 2 ** 10, r: 1.5, p: 1 }, /kdf\.r\/p/],
    ];
    for (const [cost, field] of crafted) {
      writeFileSync(path, JSON.stringify({ ...original, kdf: { ...original.kdf, ...cost } }));
      const started = performance.now();
      await rejectsWith(SecureElementFile.open(path, 'correct horse battery'), 'malformed', field);
      assert.ok(performance.now() - started < 1_000, `refused before deriving: ${JSON.stringify(cost)}`);
    }
    writeFileSync(path, '{"format": "mipay-phone-secure-element", "vers');
    await rejectsWith(SecureElementFile.open(path, 'correct horse battery'), 'malformed', /not JSON/);
    await rejectsWith(SecureElementFile.open(join(dir, 'nope.se'), 'correct horse battery'), 'not_found', /mipay phone create/);
  });

  test('a handle whose file another process replaced refuses to write over it (the other write is kept)', async () => {
    const path = newPath();
    await SecureElementFile.create(path, 'correct horse battery', { n: 1 }, cheap);
    const first = await SecureElementFile.open<{ n: number }>(path, 'correct horse battery');
    const second = await SecureElementFile.open<{ n: number }>(path, 'correct horse battery');
    second.update({ n: 2 });
    await rejectsWith((async () => first.update({ n: 3 }))(), 'changed_by_another_process', /changed by another process/);
    assert.deepEqual(first.state, { n: 1 }, 'the refused state is not kept either');
    assert.deepEqual((await SecureElementFile.open(path, 'correct horse battery')).state, { n: 2 });
    second.update({ n: 4 });
    assert.deepEqual((await SecureElementFile.open(path, 'correct horse battery')).state, { n: 4 }, 'the last writer goes on writing');
  });

  test('create never overwrites an existing phone and wants a real passphrase', async () => {
    const path = newPath();
    await SecureElementFile.create(path, 'correct horse battery', secret, cheap);
    await rejectsWith(SecureElementFile.create(path, 'correct horse battery', {}, cheap), 'already_exists', /already holds a phone/);
    await rejectsWith(SecureElementFile.create(newPath(), 'short', {}, cheap), 'passphrase_too_short', /at least 8/);
    // A fresh data folder is made for the phone, readable by its owner only.
    const nested = join(dir, 'fresh', 'data', 'phone.se');
    await SecureElementFile.create(nested, 'correct horse battery', { n: 1 }, cheap);
    assert.equal(statSync(join(dir, 'fresh', 'data')).mode & 0o777, 0o700);
  });

  test('atomic write: no temp file is left; a failed write and a crashed writer\'s leftover leave the last good state', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'phone.se');
    const file = await SecureElementFile.create(path, 'correct horse battery', { n: 1 }, cheap);
    const inode = statSync(path).ino;
    file.update({ n: 2 });
    assert.deepEqual(readdirSync(sub), ['phone.se']);
    assert.notEqual(statSync(path).ino, inode, 'replaced by rename, never rewritten in place');
    // A writer that died before its rename leaves a partial temp file: it is never read.
    writeFileSync(join(sub, '.phone.se.999.deadbeef.tmp'), '{"format":"mipay-phone-sec');
    assert.deepEqual((await SecureElementFile.open(path, 'correct horse battery')).state, { n: 2 });
    // A save that fails half-way (a state that cannot be serialised) writes nothing.
    assert.throws(() => file.update({ n: 3n } as unknown as { n: number }), /BigInt/);
    assert.deepEqual((await SecureElementFile.open(path, 'correct horse battery')).state, { n: 2 });
    // The folder cannot take the temp file (not testable as root, who may write anywhere): the save fails loudly, the old state stays whole.
    if (process.getuid?.() !== 0) {
      chmodSync(sub, 0o500);
      try {
        assert.throws(() => file.update({ n: 4 }), /EACCES/);
        assert.deepEqual((await SecureElementFile.open(path, 'correct horse battery')).state, { n: 2 });
      } finally {
        chmodSync(sub, 0o700);
      }
    }
    assert.deepEqual(readdirSync(sub).sort(), ['.phone.se.999.deadbeef.tmp', 'phone.se']);
  });
});
