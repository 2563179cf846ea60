// Door cards on a real phone state file: cards held to the phone are emulated MIFARE Classic
// cards, dumps are the hand-written fixtures, doors are real door readers.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CpuCardEmulator } from '../terminal/card-emulator/cpu-card.ts';
import { generateClassicCard } from '../terminal/card-emulator/mifare-classic-card.ts';
import { DoorReader } from '../terminal/door/door-reader.ts';
import { PhoneError } from './errors.ts';
import { MiPhone } from './phone.ts';

const cheap = { n: 2 ** 10, r: 8, p: 1 };
const passphrase = 'door card passphrase';
const key = (hex: string) => Buffer.from(hex, 'hex');
const fixture = (name: string) => ({
  name,
  bytes: readFileSync(new URL(`../protocols/mifare/fixtures/${name}`, import.meta.url)),
});

function refusal(run: () => unknown): PhoneError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof PhoneError, String(error));
    return error;
  }
  assert.fail('expected a PhoneError');
}

describe('door cards on the phone', () => {
  let dir: string;
  let count = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mipay-door-cards-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const newPhone = () =>
    MiPhone.create({
      path: join(dir, `phone-${++count}.se`),
      passphrase,
      platformUrl: 'http://127.0.0.1:1',
      passcode: '246810',
      kdfCost: cheap,
    });
  const reopen = (phone: MiPhone) => MiPhone.open(phone.path, passphrase);

  test('read and copy unencrypted 1K and 4K cards, 4- and 7-byte UIDs; they survive reopening the file', async () => {
    const phone = await newPhone();
    const cards = [
      { size: '1k', uid: 'CD3DEFF2' },
      { size: '1k', uid: '04112233445566' },
      { size: '4k', uid: 'A1B2C3D4' },
      { size: '4k', uid: '04A25C1A7B6080' },
    ] as const;
    for (const [i, c] of cards.entries()) {
      const kept = phone.readDoorCard(
        generateClassicCard({ size: c.size, uid: key(c.uid), data: { 4: Buffer.from(`OFFICE-DOOR-000${i}`) } }),
        `Card ${i}`,
      );
      assert.equal(kept.type, `MIFARE Classic ${c.size.toUpperCase()}`);
      assert.equal(kept.source, 'read');
    }
    const again = await reopen(phone);
    const listed = again.doorCards();
    assert.deepEqual(
      listed.map((c) => c.uidMasked),
      ['CD:**:**:F2', '04:**:**:**:**:**:66', 'A1:**:**:D4', '04:**:**:**:**:**:80'],
    );
    assert.deepEqual(
      listed.map((c) => c.isDefault),
      [true, false, false, false],
      'the first door card is the default',
    );
    const stored = again.state.doorCards!;
    assert.deepEqual(
      stored.map((c) => [c.size, c.atqa, c.sak, c.blocks.length]),
      [
        ['1k', '0004', 8, 64],
        ['1k', '0044', 8, 64],
        ['4k', '0002', 0x18, 256],
        ['4k', '0042', 0x18, 256],
      ],
    );
    assert.equal(Buffer.from(stored[3]!.blocks[4]!, 'hex').toString(), 'OFFICE-DOOR-0003');
  });

  test('an encrypted card is refused naming its sector, a CPU card naming its type; nothing is kept', async () => {
    const phone = await newPhone();
    const encrypted = generateClassicCard({
      size: '1k',
      sectorKeys: { 7: { a: key('5A3C9E17B2D4'), b: key('C4E1D07A93B6'), access: [0, 0, 0, 0b011] } },
    });
    const refused = refusal(() => phone.readDoorCard(encrypted));
    assert.deepEqual([refused.code, refused.param], ['door_card_encrypted', 'card']);
    assert.match(refused.message, /^Sector 7 opens only with a key the phone does not know: this card is encrypted/);
    assert.equal('doorCards' in phone.state, false, 'a state without the optional field reads as no door cards');
    const cpu = refusal(() => phone.readDoorCard(new CpuCardEmulator()));
    assert.equal(cpu.code, 'door_card_not_supported');
    assert.match(cpu.message, /ISO 14443-4 CPU card/);
    assert.deepEqual((await reopen(phone)).doorCards(), []);
  });

  test('imports each dump format; encrypted and damaged dumps are refused and change nothing', async () => {
    const phone = await newPhone();
    for (const name of ['door-1k.eml', 'door-1k.bin', 'door-1k.json', 'door-4k-7byte.nfc', 'door-1k-v2.nfc']) {
      assert.equal(
        phone.importDoorCard(fixture(name)).source.split('-')[0],
        name.endsWith('.nfc') ? 'flipper' : 'proxmark',
        name,
      );
    }
    assert.equal(phone.doorCards().length, 5);
    const before = readFileSync(phone.path, 'utf8');
    const encrypted = refusal(() => phone.importDoorCard(fixture('encrypted-1k.nfc')));
    assert.deepEqual([encrypted.code, encrypted.param], ['door_card_encrypted', 'file']);
    assert.match(encrypted.message, /^Sector 5 /);
    const damaged = refusal(() =>
      phone.importDoorCard({
        name: 'door.eml',
        bytes: Buffer.from(fixture('door-1k.eml').bytes.toString().split('\n').slice(0, 63).join('\n')),
      }),
    );
    assert.deepEqual([damaged.code, damaged.param], ['door_card_dump_invalid', 'file: lines']);
    const twice = refusal(() => phone.importDoorCard(fixture('door-1k.eml')));
    assert.equal(twice.code, 'door_card_exists');
    assert.equal(readFileSync(phone.path, 'utf8'), before, 'the state file was not written');
    assert.equal((await reopen(phone)).doorCards().length, 5);
  });

  test('rename, default, delete: by id or name; the default moves on when its card is deleted', async () => {
    const phone = await newPhone();
    const a = phone.importDoorCard(fixture('door-1k.eml'), 'Office');
    const b = phone.importDoorCard(fixture('door-1k.json'), 'Home');
    assert.equal(phone.renameDoorCard('Home', '家').name, '家');
    assert.equal(phone.setDefaultDoorCard(b.id).isDefault, true);
    assert.equal(refusal(() => phone.renameDoorCard(a.id, '')).param, 'name');
    assert.equal(refusal(() => phone.deleteDoorCard('Garage')).code, 'door_card_not_found');
    phone.deleteDoorCard('家');
    const left = (await reopen(phone)).doorCards();
    assert.deepEqual(
      left.map((c) => [c.name, c.isDefault]),
      [['Office', true]],
    );
  });

  test('at a door: the copy opens it, an unknown UID is refused; a sector check reads the copied data', async () => {
    const phone = await newPhone();
    const original = generateClassicCard({
      size: '1k',
      uid: key('5E1C22A9'),
      data: { 9: Buffer.from('EMPLOYEE-0042---') },
    });
    phone.readDoorCard(original, 'Office');
    let now = new Date('2026-11-30T08:00:00Z');
    const door = new DoorReader(DoorReader.empty('Building A'), () => now);
    door.allow({
      uid: '5E1C22A9',
      label: 'Zhang Wei',
      sector: { block: 9, keyType: 'A', key: 'FFFFFFFFFFFF', value: Buffer.from('EMPLOYEE-0042---').toString('hex') },
    });
    const opened = door.present(phone.doorApplet({ screen: 'on' }));
    assert.deepEqual(
      [opened.result, opened.uidMasked, opened.reason],
      ['opened', '5E:**:**:A9', 'UID and sector value match'],
    );
    now = new Date('2026-11-30T08:00:05Z');
    const stranger = door.present(generateClassicCard({ size: '1k', uid: key('DEADBEEF') }));
    assert.deepEqual(
      [stranger.result, stranger.reason, stranger.uidMasked],
      ['refused', 'card not on the allowlist', 'DE:**:**:EF'],
    );
    // A clone with the UID but not the data does not pass the sector check.
    const uidOnly = door.present(generateClassicCard({ size: '1k', uid: key('5E1C22A9') }));
    assert.deepEqual([uidOnly.result, uidOnly.reason], ['refused', 'block 9 does not hold the expected value']);
    assert.deepEqual(
      door.state.events.map((e) => [e.at, e.result]),
      [
        ['2026-11-30T08:00:00.000Z', 'opened'],
        ['2026-11-30T08:00:05.000Z', 'refused'],
        ['2026-11-30T08:00:05.000Z', 'refused'],
      ],
    );
    assert.ok(!JSON.stringify(door.state.events).includes('5E1C22A9'), 'the event log holds masked UIDs only');
  });

  test('screen off: only an express door card answers; turned off, the phone is silent', async () => {
    const phone = await newPhone();
    const card = phone.importDoorCard(fixture('door-1k.eml'), 'Office');
    const door = new DoorReader(DoorReader.empty('Lobby'));
    door.allow({ uid: 'CD3DEFF2' });
    assert.equal(phone.doorApplet({ screen: 'off' }), null);
    assert.equal(door.present(phone.doorApplet({ screen: 'off' })).reason, 'no card answered');
    phone.setDoorCardExpress(card.id, true);
    const reopened = await reopen(phone);
    assert.equal(door.present(reopened.doorApplet({ screen: 'off' })).result, 'opened');
    assert.equal(reopened.state.pay.selectedCardId, null, 'no bank card is armed by a door tap');
  });
});
