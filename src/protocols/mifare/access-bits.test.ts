import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataBlockReadableWith, decodeAccessBits, encodeAccessBits, keyBReadable } from './access-bits.ts';

test('the transport configuration FF 07 80 decodes to data 000 and trailer 001 (MF1S50yyX, 8.7.3)', () => {
  assert.deepEqual(decodeAccessBits(Buffer.from('FF0780', 'hex')), [0, 0, 0, 0b001]);
  assert.deepEqual(encodeAccessBits([0, 0, 0, 0b001]), Buffer.from('FF0780', 'hex'));
});

test('MAD sector 0 bytes 78 77 88 (NXP AN10787) are data 100, trailer 011; every condition round-trips', () => {
  assert.deepEqual(decodeAccessBits(Buffer.from('787788', 'hex')), [0b100, 0b100, 0b100, 0b011]);
  for (let c = 0; c < 8; c++) {
    const groups = [c, (c + 1) % 8, (c + 3) % 8, (c + 5) % 8];
    assert.deepEqual(decodeAccessBits(encodeAccessBits(groups)), groups);
  }
});

test('access bits that disagree with their inverses are refused, whichever bit flips', () => {
  const good = Buffer.from('FF0780', 'hex');
  for (let byte = 0; byte < 3; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(good);
      bad[byte]! ^= 1 << bit;
      assert.equal(decodeAccessBits(bad), undefined, `byte ${byte} bit ${bit}`);
    }
  }
});

test('table 8: who reads a data block; key B that is readable data never authenticates', () => {
  assert.equal(dataBlockReadableWith(0b000, 'A', 0b011), true);
  assert.equal(dataBlockReadableWith(0b011, 'A', 0b011), false);
  assert.equal(dataBlockReadableWith(0b011, 'B', 0b011), true);
  assert.equal(dataBlockReadableWith(0b111, 'B', 0b011), false);
  assert.equal(keyBReadable(0b001), true);
  assert.equal(dataBlockReadableWith(0b000, 'B', 0b001), false);
});
