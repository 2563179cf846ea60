// Emulated MIFARE Classic cards in a reader's field: activation through the cascade levels, the
// access conditions, and the phone's read with the default keys.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { activate, readWithDefaultKeys } from '../../protocols/mifare/classic-reader.ts';
import { MifareError } from '../../protocols/mifare/errors.ts';
import { CpuCardEmulator } from './cpu-card.ts';
import { cardFromDumpFile, generateClassicCard } from './mifare-classic-card.ts';

const key = (hex: string) => Buffer.from(hex, 'hex');

test('a 4-byte-UID 1K card: WUPA, anticollision, SELECT give its ATQA, UID and SAK; a wrong key silences it', () => {
  const card = generateClassicCard({ size: '1k', uid: key('CD3DEFF2') });
  assert.deepEqual(activate(card), {
    uid: key('CD3DEFF2'),
    atqa: 0x0004,
    sak: 0x08,
    type: { kind: 'classic', size: '1k', name: 'MIFARE Classic 1K' },
  });
  assert.equal(card.authenticate(4, 'A', key('A0A1A2A3A4A5')), false);
  assert.equal(card.readBlock(4), null, 'after a failed authentication the card answers nothing');
  activate(card);
  assert.equal(card.authenticate(4, 'A', key('FFFFFFFFFFFF')), true);
  assert.equal(card.readBlock(4)!.length, 16);
  assert.equal(card.readBlock(8), null, 'a block of another sector needs its own authentication');
});

test('a 7-byte-UID 4K card: two cascade levels; key A never reads back, key B does under transport conditions', () => {
  const card = generateClassicCard({ size: '4k', uid: key('04A25C1A7B6080'), keyB: key('B0B1B2B3B4B5') });
  const identity = activate(card);
  assert.deepEqual([identity.uid.toString('hex'), identity.atqa, identity.sak], ['04a25c1a7b6080', 0x0042, 0x18]);
  assert.equal(card.authenticate(255, 'A', key('FFFFFFFFFFFF')), true);
  assert.equal(card.readBlock(255)!.toString('hex').toUpperCase(), '000000000000FF078069B0B1B2B3B4B5');
  assert.equal(card.authenticate(255, 'B', key('B0B1B2B3B4B5')), false, 'key B that reads as data cannot authenticate');
});

test('the phone copies unencrypted 1K and 4K cards, 4- and 7-byte UIDs, with the data of every sector', () => {
  for (const [size, uid] of [
    ['1k', '5E1C22A9'],
    ['1k', '04112233445566'],
    ['4k', 'A1B2C3D4'],
    ['4k', '04A25C1A7B6080'],
  ] as const) {
    const data = { 1: Buffer.from('MIPAY-DOOR-00042'), [size === '4k' ? 200 : 60]: Buffer.from('LAST-SECTOR-DATA') };
    // Sector 0 with the MAD key A, the rest transport keys: both are on the default list.
    const card = generateClassicCard({
      size,
      uid: key(uid),
      data,
      sectorKeys: { 0: { a: key('A0A1A2A3A4A5'), b: key('B0B1B2B3B4B5'), access: [0b100, 0b100, 0b100, 0b011] } },
    });
    const image = readWithDefaultKeys(card);
    assert.deepEqual(
      [image.size, image.uid.toString('hex').toUpperCase(), image.blocks.length],
      [size, uid, size === '1k' ? 64 : 256],
    );
    assert.equal(image.blocks[1]!.toString(), 'MIPAY-DOOR-00042');
    assert.equal(image.blocks[size === '4k' ? 200 : 60]!.toString(), 'LAST-SECTOR-DATA');
    assert.deepEqual([image.keys[0]!.a, image.keys[0]!.b], [key('A0A1A2A3A4A5'), key('B0B1B2B3B4B5')]);
    assert.equal(
      image.blocks[3]!.toString('hex').toUpperCase(),
      'A0A1A2A3A4A578778869B0B1B2B3B4B5',
      'the keys found are put back in the trailer',
    );
  }
});

test('a card with its own key in one sector is refused naming the sector; a CPU card naming its type', () => {
  const card = generateClassicCard({
    size: '1k',
    sectorKeys: { 6: { a: key('5A3C9E17B2D4'), b: key('C4E1D07A93B6'), access: [0, 0, 0, 0b011] } },
  });
  assert.throws(
    () => readWithDefaultKeys(card),
    (error: MifareError) => {
      assert.deepEqual([error.code, error.sector], ['card_encrypted', 6]);
      assert.match(error.message, /^Sector 6 opens only with a key the phone does not know/);
      return true;
    },
  );
  assert.throws(
    () => readWithDefaultKeys(new CpuCardEmulator()),
    (error: MifareError) => {
      assert.equal(error.code, 'card_type_not_supported');
      assert.match(error.message, /ISO 14443-4 CPU card .*SAK 20/);
      return true;
    },
  );
});

test('a data block only a non-default key B reads makes the card encrypted, though key A is default', () => {
  const card = generateClassicCard({
    size: '1k',
    sectorKeys: { 2: { b: key('5A3C9E17B2D4'), access: [0b011, 0, 0, 0b011] } },
  });
  assert.throws(() => readWithDefaultKeys(card), { code: 'card_encrypted', sector: 2 });
});

test('a card from a Proxmark3 dump answers as the card; a Flipper dump with unknown bytes cannot be a card', () => {
  const fixture = (name: string) => readFileSync(new URL(`../../protocols/mifare/fixtures/${name}`, import.meta.url));
  const card = cardFromDumpFile('door-1k.eml', fixture('door-1k.eml'));
  assert.equal(activate(card).uid.toString('hex').toUpperCase(), 'CD3DEFF2');
  assert.equal(readWithDefaultKeys(card).blocks[4]!.toString(), 'MIPAY-DOOR-00001');
  assert.throws(() => readWithDefaultKeys(cardFromDumpFile('encrypted-1k.eml', fixture('encrypted-1k.eml'))), {
    code: 'card_encrypted',
    sector: 3,
  });
  assert.throws(() => cardFromDumpFile('door-1k-v2.nfc', fixture('door-1k-v2.nfc')), { code: 'dump_invalid' });
});
