import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accessGroupOfBlock,
  bcc,
  cardTypeFromSak,
  cascadeLevelBytes,
  firstBlockOfSector,
  maskUid,
  sectorOfBlock,
  trailerBlockOfSector,
  uidLengthFromAtqa,
} from './layout.ts';

test('1K and 4K layouts: 32 sectors of 4 blocks, then 8 of 16 (MF1S70yyX, 8.6)', () => {
  assert.equal(trailerBlockOfSector(0), 3);
  assert.equal(trailerBlockOfSector(15), 63);
  assert.equal(firstBlockOfSector(32), 128);
  assert.equal(trailerBlockOfSector(32), 143);
  assert.equal(trailerBlockOfSector(39), 255);
  assert.equal(sectorOfBlock(200), 36);
  assert.deepEqual([128, 132, 133, 142, 143].map(accessGroupOfBlock), [0, 0, 1, 2, 3]);
});

test('BCC and cascade levels (ISO/IEC 14443-3, 6.5.4): a 7-byte UID is cascade tag 88 + 3 bytes, then 4 bytes', () => {
  // Block 0 of a Flipper Zero example dump: CD 3D EF F2, BCC ED.
  assert.equal(bcc(Buffer.from('CD3DEFF2', 'hex')), 0xed);
  assert.deepEqual(
    cascadeLevelBytes(Buffer.from('04A25C1A7B6080', 'hex'), 1),
    Buffer.from([0x88, 0x04, 0xa2, 0x5c, 0x88 ^ 0x04 ^ 0xa2 ^ 0x5c]),
  );
  assert.deepEqual(
    cascadeLevelBytes(Buffer.from('04A25C1A7B6080', 'hex'), 2),
    Buffer.from([0x1a, 0x7b, 0x60, 0x80, 0x1a ^ 0x7b ^ 0x60 ^ 0x80]),
  );
  assert.equal(uidLengthFromAtqa(0x0004), 4);
  assert.equal(uidLengthFromAtqa(0x0044), 7);
});

test('SAK names the card (NXP AN10833): Classic 1K/4K are door cards, a CPU card is not', () => {
  assert.deepEqual(cardTypeFromSak(0x08), { kind: 'classic', size: '1k', name: 'MIFARE Classic 1K' });
  assert.equal(cardTypeFromSak(0x18).kind, 'classic');
  assert.match(cardTypeFromSak(0x20).name, /CPU card/);
  assert.equal(cardTypeFromSak(0x00).kind, 'other');
  assert.equal(maskUid(Buffer.from('04A25C1A7B6080', 'hex')), '04:**:**:**:**:**:80');
});
