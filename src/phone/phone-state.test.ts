// The phone state file's contents: keys grouped by batch (version 2), version 1 files still
// opened (and written back as version 2), contents from a newer mipay or damaged ones refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MiPhone } from './phone.ts';
import { PHONE_STATE_VERSION, phoneStateCodec, type PhoneState, type StoredLuk } from './phone-state.ts';
import { SecureElementFile } from './secure-element.ts';
import { rejectsWith } from './test-secure-element.ts';

const dir = mkdtempSync(join(tmpdir(), 'mipay-phone-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cheap = { n: 2 ** 10, r: 8, p: 1 };
const passphrase = 'phone state passphrase';
let counter = 0;

const key = (atc: number) => atc.toString(16).padStart(32, '0');
const luks = (batchId: string, expiresAt: string, atcs: number[]): StoredLuk[] => atcs.map((atc) => ({ atc, key: key(atc), batchId, expiresAt }));

/** A phone with one card holding keys of two batches, 3 and 4 keys. */
async function phoneWithKeys(): Promise<{ path: string; state: PhoneState }> {
  const path = join(dir, `phone-${++counter}.se`);
  const phone = await MiPhone.create({ path, passphrase, platformUrl: 'http://127.0.0.1:1', passcode: '246810', kdfCost: cheap });
  phone.mutableState.cards.push({
    id: 'dc_1', tokenNumber: '6299901234567890', expiryYymm: '3112', panSequence: '00', tokenLast4: '7890', bankName: '建设银行', cardKind: 'debit',
    status: 'active', algorithm: 'tdes',
    luks: [...luks('luk_a', '2026-12-01T00:00:00.000Z', [4, 5, 6]), ...luks('luk_b', '2026-12-05T00:00:00.000Z', [7, 8, 9, 10])],
  });
  phone.save();
  return { path, state: structuredClone(phone.state) as PhoneState };
}

async function rawContents(path: string): Promise<any> {
  return (await SecureElementFile.open<unknown>(path, passphrase)).state;
}

describe('the phone state file\'s contents', () => {
  test('version 2: one entry per key batch with its id and expiry once; the phone opens it to the same keys', async () => {
    const { path, state } = await phoneWithKeys();
    const raw = await rawContents(path);
    assert.equal(raw.stateVersion, PHONE_STATE_VERSION);
    assert.equal(raw.cards[0].luks, undefined);
    assert.deepEqual(raw.cards[0].lukBatches, [
      { batchId: 'luk_a', expiresAt: '2026-12-01T00:00:00.000Z', atcs: [4, 5, 6], keys: [key(4), key(5), key(6)] },
      { batchId: 'luk_b', expiresAt: '2026-12-05T00:00:00.000Z', atcs: [7, 8, 9, 10], keys: [key(7), key(8), key(9), key(10)] },
    ]);
    assert.deepEqual((await MiPhone.open(path, passphrase)).state, state);
  });

  test('a version 1 file (one object per key) opens as it was and is written back as version 2', async () => {
    const { path, state } = await phoneWithKeys();
    // Rewrite the file the way mipay wrote it before version 2: the in-memory state as it is.
    const v1 = await SecureElementFile.open<PhoneState>(path, passphrase, phoneStateCodec);
    const asV1 = await SecureElementFile.open<unknown>(path, passphrase);
    asV1.update(structuredClone(v1.state));
    assert.equal((await rawContents(path)).stateVersion, undefined);
    assert.equal((await rawContents(path)).cards[0].luks.length, 7);

    const phone = await MiPhone.open(path, passphrase);
    assert.deepEqual(phone.state, state);
    phone.save();
    assert.equal((await rawContents(path)).stateVersion, PHONE_STATE_VERSION);
    assert.deepEqual((await MiPhone.open(path, passphrase)).state, state);
  });

  test('contents of a newer version, or key batches that do not add up, are refused with a clear error, never read half', async () => {
    const { path } = await phoneWithKeys();
    const file = await SecureElementFile.open<any>(path, passphrase);
    const good = structuredClone(file.state);
    file.update({ ...good, stateVersion: 3 });
    await rejectsWith(MiPhone.open(path, passphrase), 'unsupported_version', /version 3 contents; this mipay reads versions 1 and 2/);

    const broken = structuredClone(good);
    broken.cards[0].lukBatches[1].atcs.pop();
    file.update(broken);
    await rejectsWith(MiPhone.open(path, passphrase), 'malformed', /lukBatches/);

    file.update({ ...good, cards: 'none' });
    await rejectsWith(MiPhone.open(path, passphrase), 'malformed', /contents/);
  });

  test('the codec alone: encode then decode gives the state back, key order included', () => {
    const state = { cards: [{ id: 'dc_9', luks: [...luks('b1', 'x', [1, 2]), ...luks('b2', 'y', [3]), ...luks('b1', 'x', [5])] }] } as unknown as PhoneState;
    const encoded = phoneStateCodec.encode(state) as any;
    assert.equal(encoded.cards[0].lukBatches.length, 3, 'a batch met again after another one starts a new group: order is kept');
    assert.deepEqual(phoneStateCodec.decode(JSON.parse(JSON.stringify(encoded))), state);
  });
});
