// The dump readers against files written by hand from the formats' documentation (fixtures/,
// see fixtures/README.md), never by this project's own writer, and against damaged copies of them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { assertUnencrypted } from './classic-image.ts';
import { readDumpFile } from './dump-file.ts';
import { MifareError } from './errors.ts';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url));

function refusal(run: () => unknown): MifareError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof MifareError, String(error));
    return error;
  }
  assert.fail('expected a MifareError');
}

test('Proxmark3 .eml: 64 lines of 32 hex digits; UID, BCC, ATQA and SAK from block 0', () => {
  const image = readDumpFile('door-1k.eml', fixture('door-1k.eml'));
  assert.equal(image.format, 'proxmark-eml');
  assert.deepEqual([image.size, image.uid.toString('hex'), image.atqa, image.sak], ['1k', 'cd3deff2', 0x0004, 0x08]);
  assert.equal(image.blocks[4]!.toString('latin1'), 'MIPAY-DOOR-00001');
  assert.doesNotThrow(() => assertUnencrypted(image));
});

test('Proxmark3 .bin: 1024 raw bytes; the MAD key A of sector 0 is a default key', () => {
  const image = readDumpFile('door-1k.bin', fixture('door-1k.bin'));
  assert.deepEqual([image.size, image.uid.toString('hex').toUpperCase()], ['1k', 'A1B2C3D4']);
  assert.equal(image.keys[0]!.a!.toString('hex').toUpperCase(), 'A0A1A2A3A4A5');
  assert.doesNotThrow(() => assertUnencrypted(image));
});

test('Proxmark3 .json ("mfc v2"): Card.ATQA "0400" is the bytes as sent, i.e. 0x0004', () => {
  const image = readDumpFile('door-1k.json', fixture('door-1k.json'));
  assert.deepEqual([image.uid.toString('hex'), image.atqa, image.sak], ['11223344', 0x0004, 0x08]);
  assert.equal(image.blocks[5]!.toString('hex'), '0102030405060708090a0b0c0d0e0f10');
});

test('Flipper .nfc version 4: a 4K card with a 7-byte UID (ATQA most significant byte first)', () => {
  const image = readDumpFile('door-4k-7byte.nfc', fixture('door-4k-7byte.nfc'));
  assert.deepEqual(
    [image.size, image.uid.toString('hex').toUpperCase(), image.atqa, image.sak, image.blocks.length],
    ['4k', '04A25C1A7B6080', 0x0042, 0x18, 256],
  );
  assert.doesNotThrow(() => assertUnencrypted(image));
});

test('Flipper .nfc version 2: ATQA LSB first; a key B the Flipper could not read (??) is unknown, key A opens', () => {
  const image = readDumpFile('door-1k-v2.nfc', fixture('door-1k-v2.nfc'));
  assert.equal(image.atqa, 0x0004);
  assert.equal(image.keys[9]!.b, null);
  assert.equal(image.keys[9]!.a!.toString('hex'), 'ffffffffffff');
  assert.doesNotThrow(() => assertUnencrypted(image));
});

test('encrypted dumps are refused naming the first sector no default key opens', () => {
  const nfc = refusal(() => assertUnencrypted(readDumpFile('encrypted-1k.nfc', fixture('encrypted-1k.nfc'))));
  assert.deepEqual([nfc.code, nfc.sector], ['card_encrypted', 5]);
  assert.match(nfc.message, /^Sector 5 opens only with a key the phone does not know/);
  const eml = refusal(() => assertUnencrypted(readDumpFile('encrypted-1k.eml', fixture('encrypted-1k.eml'))));
  assert.deepEqual([eml.code, eml.sector], ['card_encrypted', 3]);
});

test('damaged files get a typed error naming what is wrong', () => {
  const eml = fixture('door-1k.eml').toString('utf8');
  const lines = eml.split('\n');
  const json = JSON.parse(fixture('door-1k.json').toString('utf8'));
  const nfc = fixture('door-4k-7byte.nfc').toString('utf8');
  const cases: [string, Buffer, string, string | RegExp][] = [
    [
      'short.bin',
      fixture('door-1k.bin').subarray(0, 1000),
      'dump_invalid',
      /1024 \(1K\) or 4096 \(4K\) bytes; this file has 1000/,
    ],
    ['truncated.eml', Buffer.from(lines.slice(0, 40).join('\n')), 'dump_invalid', /has 40 lines/],
    [
      'badhex.eml',
      Buffer.from(lines.map((l, i) => (i === 7 ? `${l.slice(0, 30)}ZZ` : l)).join('\n')),
      'dump_invalid',
      /Line 8 /,
    ],
    ['bcc.eml', Buffer.from([`CD3DEFF2EE${lines[0]!.slice(10)}`, ...lines.slice(1)].join('\n')), 'bcc_invalid', /BCC/],
    [
      'trailer.eml',
      Buffer.from(lines.map((l, i) => (i === 11 ? 'FFFFFFFFFFFFFF078869FFFFFFFFFFFF' : l)).join('\n')),
      'access_bits_invalid',
      /Sector 2's trailer/,
    ],
    [
      'uid.json',
      Buffer.from(JSON.stringify({ ...json, Card: { ...json.Card, UID: '11223345' } })),
      'uid_mismatch',
      /does not match the UID in block 0/,
    ],
    [
      'cut.json',
      Buffer.from(
        JSON.stringify({
          ...json,
          blocks: Object.fromEntries(Object.entries(json.blocks).filter(([k]) => k !== '17')),
        }),
      ),
      'dump_invalid',
      /no block 17/,
    ],
    ['notjson.json', Buffer.from('{"Created": "proxmark3", '), 'dump_invalid', /not valid JSON/],
    [
      'cpu.json',
      Buffer.from(JSON.stringify({ ...json, Card: { ...json.Card, SAK: '20' } })),
      'card_type_not_supported',
      /CPU card/,
    ],
    ['cut.nfc', Buffer.from(nfc.split('\n').slice(0, 200).join('\n')), 'dump_invalid', /no Block 187/],
    [
      'uid.nfc',
      Buffer.from(nfc.replace('UID: 04 A2 5C 1A 7B 60 80', 'UID: 04 A2 5C 1A 7B 60 81')),
      'uid_mismatch',
      /block 0/,
    ],
    [
      'atqa.nfc',
      Buffer.from(nfc.replace('ATQA: 00 42', 'ATQA: 00 02')),
      'dump_invalid',
      /ATQA 0002 announces a 4-byte UID/,
    ],
    ['dump.txt', Buffer.from('hello'), 'dump_invalid', /not a dump format/],
  ];
  for (const [name, bytes, code, message] of cases) {
    const error = refusal(() => readDumpFile(name, bytes));
    assert.equal(error.code, code, `${name}: ${error.message}`);
    assert.match(error.message, message instanceof RegExp ? message : new RegExp(message), name);
  }
});
