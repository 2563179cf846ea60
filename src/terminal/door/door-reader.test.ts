import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateClassicCard } from '../card-emulator/mifare-classic-card.ts';
import { loadDoorReader, saveDoorReader } from './door-file.ts';
import { DoorReader, DoorReaderError, eventsMax } from './door-reader.ts';

test('the allowlist takes 4- and 7-byte UIDs and sector checks on data blocks only, naming the bad field', () => {
  const reader = new DoorReader(DoorReader.empty('Lobby'));
  assert.equal(reader.allow({ uid: '04:a2:5c:1a:7b:60:80', label: 'Li Na' }).uid, '04A25C1A7B6080');
  for (const [input, param] of [
    [{ uid: 'CD3DEF' }, 'uid'],
    [{ uid: 'CD3DEFZZ' }, 'uid'],
    [{ uid: 'CD3DEFF2', sector: { block: 0, keyType: 'A', key: 'FFFFFFFFFFFF', value: '00'.repeat(16) } }, 'block'],
    [{ uid: 'CD3DEFF2', sector: { block: 4, keyType: 'A', key: 'FFFF', value: '00'.repeat(16) } }, 'key'],
    [{ uid: 'CD3DEFF2', sector: { block: 4, keyType: 'A', key: 'FFFFFFFFFFFF', value: '00' } }, 'value'],
  ] as const) {
    const allow = () => reader.allow(input as Parameters<DoorReader['allow']>[0]);
    assert.throws(allow, (error: DoorReaderError) => error.param === param);
  }
  assert.equal(reader.state.allowlist.length, 1, 'a refused entry is not added');
  assert.equal(reader.deny('04A25C1A7B6080'), true);
  assert.equal(reader.deny('04A25C1A7B6080'), false);
});

test('the event log keeps the last events only', () => {
  const reader = new DoorReader(DoorReader.empty('Lobby'));
  const card = generateClassicCard({ size: '1k', uid: Buffer.from('DEADBEEF', 'hex') });
  for (let i = 0; i < eventsMax + 3; i++) reader.present(card);
  assert.equal(reader.state.events.length, eventsMax);
});

test('the reader file is 0600, refuses to be created over an existing one, and a damaged file is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mipay-door-file-'));
  try {
    const path = join(dir, 'door.json');
    const reader = new DoorReader(DoorReader.empty('Garage'));
    reader.allow({ uid: 'CD3DEFF2' });
    saveDoorReader(path, reader.state, { create: true });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.throws(() => saveDoorReader(path, DoorReader.empty('Other'), { create: true }), /EEXIST/);
    assert.deepEqual(loadDoorReader(path).allowlist.map((e) => e.uid), ['CD3DEFF2']);
    writeFileSync(path, '{"name": "Garage"');
    assert.throws(() => loadDoorReader(path), /not a door reader file/);
    assert.throws(() => loadDoorReader(join(dir, 'none.json')), /run `mipay door create` first/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
