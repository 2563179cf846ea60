import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TestClock } from '../cli/test-system.ts';
import { createMemoryKeyring } from '../infra/keys/keyring.ts';
import { limitedUseKey, tokenMasterKey, tspKeysFrom, type TspKeys } from '../network/tsp/keys.ts';
import { decodeResponseApdu, encodeCommandApdu, getProcessingOptions, selectByName, selectPpse, SW } from '../protocols/apdu.ts';
import { checkArqc } from '../protocols/emv/online-cryptogram.ts';
import { CardReadError, readContactlessCard } from '../terminal/party.ts';
import { PhoneError } from './errors.ts';
import { MiPhone } from './phone.ts';
import { phoneStateCodec, type PhoneState, type StoredDeviceCard } from './phone-state.ts';
import { SecureElementFile } from './secure-element.ts';

const dir = mkdtempSync(join(tmpdir(), 'mipay-applet-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cheap = { n: 2 ** 10, r: 8, p: 1 };
const passphrase = 'phone passphrase 1';
// The platform's TSP keys, as a sandbox platform generates them; the phone only ever sees LUKs derived from them.
const tspKeys: TspKeys = tspKeysFrom(createMemoryKeyring());
const tokenNumber = '6299901234567890123';
let counter = 0;

/** A phone holding one device card with keys for ATC 1..count, as provisioning would leave it. */
async function phoneWithCard(options: { count?: number; expiresInMs?: number; status?: StoredDeviceCard['status'] } = {}) {
  const clock = new TestClock(new Date('2026-11-22T08:00:00Z'));
  const path = join(dir, `phone-${++counter}.se`);
  const phone = await MiPhone.create({ path, passphrase, platformUrl: 'http://127.0.0.1:1', passcode: '246810', enrolledFinger: 'right-thumb', clock: clock.now, kdfCost: cheap });
  const masterKey = tokenMasterKey(tspKeys, tokenNumber, '00');
  const expiresAt = new Date(clock.now().getTime() + (options.expiresInMs ?? 7 * 24 * 3_600_000)).toISOString();
  const card: StoredDeviceCard = {
    id: 'dc_test1', tokenNumber, expiryYymm: '3112', panSequence: '00', tokenLast4: tokenNumber.slice(-4), bankName: '招商银行', cardKind: 'debit',
    status: options.status ?? 'active', algorithm: 'tdes',
    luks: Array.from({ length: options.count ?? 3 }, (_, i) => ({ atc: i + 1, key: limitedUseKey(masterKey, i + 1).toString('hex'), batchId: 'luk_1', expiresAt })),
  };
  phone.mutableState.cards.push(card);
  phone.save();
  return { phone, clock, path, masterKey };
}

const purchase = (amountFen: bigint, now: Date) => ({ amountFen, type: 'purchase' as const, now, terminalId: 'POS00001' });

async function refusedAt(phone: MiPhone, clock: TestClock, what: RegExp): Promise<void> {
  await assert.rejects(readContactlessCard(phone.paymentApplet(), purchase(2_350n, clock.now())), (error: unknown) => {
    assert.ok(error instanceof CardReadError);
    assert.equal(error.code, 'card_refused');
    assert.match(error.message, what);
    return true;
  });
}

async function onDisk(path: string): Promise<PhoneState> {
  return (await SecureElementFile.open<PhoneState>(path, passphrase, phoneStateCodec)).state;
}

describe('the phone\'s payment applet at a POS kernel', () => {
  test('a tap after card + fingerprint: the real kernel reads CDCVM and an ARQC that verifies under the platform\'s token key', async () => {
    const { phone, clock, masterKey } = await phoneWithCard();
    for (const amountFen of [2_350n, 500_000n]) {
      phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
      const read = await readContactlessCard(phone.paymentApplet(), purchase(amountFen, clock.now()));
      assert.equal(read.pan, tokenNumber, 'the reader sees the token, never a PAN');
      assert.equal(read.cvm, 'cdcvm', 'the fingerprint replaces the PIN, above the ¥1,000 limit too');
      assert.equal(read.aid, 'A000000333010101');
      const check = checkArqc({ icc: read.iccData, algorithm: 'tdes', cryptogramVersion: 1, cardMasterKey: masterKey, amountFen });
      assert.equal(check.ok, true, JSON.stringify(check));
      assert.equal(check.ok && check.atc, read.atc);
    }
  });

  test('refuses (6985) with no card picked, and again after a tap: one tap per fingerprint, no default card', async () => {
    const { phone, clock, path } = await phoneWithCard();
    await refusedAt(phone, clock, /GET PROCESSING OPTIONS: conditions of use not satisfied/);
    assert.equal((await onDisk(path)).cards[0]!.luks.length, 3, 'a refused tap spends no key');
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    await readContactlessCard(phone.paymentApplet(), purchase(100n, clock.now()));
    assert.deepEqual(phone.state.pay, { selectedCardId: null, armedUntil: null });
    assert.deepEqual((await onDisk(path)).pay, { selectedCardId: null, armedUntil: null }, 'disarmed on disk too');
    await refusedAt(phone, clock, /conditions of use not satisfied/);
  });

  test('the arm lasts 60 s on the phone\'s clock', async () => {
    const { phone, clock } = await phoneWithCard();
    const { armedUntil } = phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    assert.equal(armedUntil.getTime() - clock.now().getTime(), 60_000);
    clock.advance(59_999);
    assert.ok((await readContactlessCard(phone.paymentApplet(), purchase(100n, clock.now()))).atc);
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    clock.advance(60_000);
    await refusedAt(phone, clock, /conditions of use not satisfied/);
    assert.equal(phone.cards()[0]!.keysLeft, 2, 'the late tap spent nothing');
  });

  test('one key per tap, lowest ATC first, removed and persisted before the GPO answer (a crash mid-tap never reuses an ATC)', async () => {
    const { phone, clock, path } = await phoneWithCard({ count: 3 });
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    const applet = phone.paymentApplet();
    const send = async (command: Parameters<typeof encodeCommandApdu>[0]) => decodeResponseApdu(await applet.transmit(encodeCommandApdu(command)));
    assert.equal((await send(selectPpse())).sw, SW.OK);
    assert.equal((await send(selectByName(Buffer.from('A000000333010101', 'hex')))).sw, SW.OK);
    const pdolData = Buffer.alloc(33);
    const gpo = await send(getProcessingOptions(pdolData));
    assert.equal(gpo.sw, SW.OK);
    assert.ok(gpo.data.includes(Buffer.from('9F36020001', 'hex')), 'ATC 1 answered');
    // The phone "dies" here, before GENERATE AC: the state file already lacks ATC 1.
    const afterGpo = await onDisk(path);
    assert.deepEqual(afterGpo.cards[0]!.luks.map((l) => l.atc), [2, 3]);
    const revived = await MiPhone.open(path, passphrase, { clock: clock.now });
    revived.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    assert.equal((await readContactlessCard(revived.paymentApplet(), purchase(100n, clock.now()))).atc, 2);
    revived.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    assert.equal((await readContactlessCard(revived.paymentApplet(), purchase(100n, clock.now()))).atc, 3);
    assert.deepEqual((await onDisk(path)).cards[0]!.luks, []);
  });

  test('another process changed the state file since this phone opened it: the tap is refused and no key is handed out', async () => {
    const { phone, clock, path } = await phoneWithCard({ count: 3 });
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    const other = await MiPhone.open(path, passphrase, { clock: clock.now });
    other.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    assert.equal((await readContactlessCard(other.paymentApplet(), purchase(100n, clock.now()))).atc, 1);
    // This phone still believes ATC 1 is unused: writing over the other process's state would bring it back.
    await refusedAt(phone, clock, /GET PROCESSING OPTIONS: no precise diagnosis/);
    assert.deepEqual((await onDisk(path)).cards[0]!.luks.map((l) => l.atc), [2, 3]);
  });

  test('no key left: pay says to sync; a tap answers 6984; expired batches count as none', async () => {
    const { phone, clock } = await phoneWithCard({ count: 1 });
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    await readContactlessCard(phone.paymentApplet(), purchase(100n, clock.now()));
    assert.throws(() => phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' }), (e: unknown) => e instanceof PhoneError && e.code === 'no_limited_use_keys' && /sync/.test(e.message));
    // Armed by hand (as a stale state file could be): the applet itself still refuses.
    phone.mutableState.pay = { selectedCardId: 'dc_test1', armedUntil: new Date(clock.now().getTime() + 30_000).toISOString() };
    await refusedAt(phone, clock, /reference data not usable/);

    const expiring = await phoneWithCard({ count: 2, expiresInMs: 1_000 });
    expiring.phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    expiring.clock.advance(1_000);
    await refusedAt(expiring.phone, expiring.clock, /reference data not usable/);
    assert.deepEqual((await onDisk(expiring.path)).cards[0]!.luks, [], 'expired keys are wiped');
  });

  test('a suspended card cannot pay (pay refuses; the applet answers 6283 if armed anyway) but takes back a refund when armed for one', async () => {
    const { phone, clock, masterKey } = await phoneWithCard({ status: 'suspended' });
    assert.throws(() => phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' }), (e: unknown) => e instanceof PhoneError && e.code === 'card_not_active' && /refund/.test(e.message));
    phone.mutableState.pay = { selectedCardId: 'dc_test1', armedUntil: new Date(clock.now().getTime() + 30_000).toISOString() };
    await refusedAt(phone, clock, /application blocked/);

    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb', refund: true });
    await refusedAt(phone, clock, /application blocked/);
    assert.equal((await onDisk(phone.path)).cards[0]!.luks.length, 3, 'the refused purchase spent no key');
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb', refund: true });
    const refund = await readContactlessCard(phone.paymentApplet(), { ...purchase(2_350n, clock.now()), type: 'refund' });
    assert.equal(refund.atc, 1);
    assert.equal(checkArqc({ icc: refund.iccData, algorithm: 'tdes', cryptogramVersion: 1, cardMasterKey: masterKey, amountFen: 2_350n }).ok, true);
  });

  test('armed for a refund, an active card refuses a purchase tap: the user asked for money back, not to pay', async () => {
    const { phone, clock } = await phoneWithCard();
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb', refund: true });
    await refusedAt(phone, clock, /conditions of use not satisfied|6985/);
    phone.pay({ deviceCardId: 'dc_test1', finger: 'right-thumb' });
    assert.equal((await readContactlessCard(phone.paymentApplet(), purchase(100n, clock.now()))).atc, 1, 'armed to pay, it pays');
  });

  test('fingerprints: only the enrolled finger arms; 5 wrong ones lock the pay flow until the device passcode, across restarts', async () => {
    const { phone, clock, path } = await phoneWithCard();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        assert.ok(error instanceof PhoneError);
        return error.code;
      }
      return 'ok';
    };
    const payWith = (p: MiPhone, finger: string) => code(() => p.pay({ deviceCardId: 'dc_test1', finger }));
    assert.equal(payWith(phone, 'left-index'), 'fingerprint_not_recognized');
    assert.equal(phone.state.pay.armedUntil, null);
    for (let i = 0; i < 3; i++) assert.equal(payWith(phone, 'left-index'), 'fingerprint_not_recognized');
    // The count is in the secure element: restarting the phone does not give five more tries.
    const restarted = await MiPhone.open(path, passphrase, { clock: clock.now });
    assert.equal(restarted.state.fingerprint.failedAttempts, 4);
    assert.equal(payWith(restarted, 'left-index'), 'fingerprint_locked');
    assert.equal(payWith(restarted, 'right-thumb'), 'fingerprint_locked', 'even the right finger, until the passcode');
    await refusedAt(restarted, clock, /conditions of use not satisfied/);
    assert.equal(code(() => restarted.unlockFingerprint('000000')), 'passcode_wrong');
    restarted.unlockFingerprint('246810');
    assert.equal(payWith(restarted, 'right-thumb'), 'ok');
    assert.equal((await readContactlessCard(restarted.paymentApplet(), purchase(100n, clock.now()))).cvm, 'cdcvm');
    assert.equal(code(() => restarted.pay({ deviceCardId: 'dc_nope', finger: 'right-thumb' })), 'card_not_found');
  });

  test('a phone with no card answers SELECT PPSE with 6A82; the kernel finds no application', async () => {
    const clock = new TestClock();
    const phone = await MiPhone.create({ path: join(dir, 'empty.se'), passphrase, platformUrl: 'http://127.0.0.1:1', passcode: '1234', clock: clock.now, kdfCost: cheap });
    await refusedAt(phone, clock, /SELECT PPSE: file or application not found/);
  });
});
