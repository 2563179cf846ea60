import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retailMac } from '../crypto/index.ts';
import { decodeMessage, encodeMessage, type Iso8583Message } from './codec.ts';
import { computeMessageMac, hasValidMessageMac, macFieldOf, withMessageMac } from './message-mac.ts';
import { CUPS_BCD_SPEC, CUPS_SPEC } from './spec.ts';

const key = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
const sale: Iso8583Message = {
  mti: '0200',
  fields: { 2: '6217000010000000003', 3: '000000', 4: '000000002350', 11: '000001', 41: 'POS00001', 42: '898110000000001', 49: '156' },
};

describe('ISO 8583 message MAC (fields 64 / 128)', () => {
  it('is ISO 9797-1 algorithm 3 over the ASCII encoding with an all-zero MAC field', () => {
    const canonical = encodeMessage({ mti: sale.mti, fields: { ...sale.fields, 64: Buffer.alloc(8) } }, CUPS_SPEC);
    assert.deepEqual(computeMessageMac(key, sale), retailMac(key, canonical, 1));
    assert.deepEqual(withMessageMac(key, sale).fields[64], retailMac(key, canonical, 1));
  });

  it('goes in field 128 when the message has a secondary bitmap (a reversal\'s field 90)', () => {
    const reversal = { mti: '0400', fields: { ...sale.fields, 90: '0'.repeat(42) } };
    assert.equal(macFieldOf(reversal), 128);
    const macd = withMessageMac(key, reversal);
    assert.equal(macd.fields[64], undefined);
    assert.ok(hasValidMessageMac(key, macd));
  });

  it('survives the BCD link encoding, and fails for any changed field, another key, a missing MAC or a MAC in the wrong field', () => {
    const macd = withMessageMac(key, sale);
    const overBcd = decodeMessage(encodeMessage(macd, CUPS_BCD_SPEC), CUPS_BCD_SPEC);
    assert.ok(hasValidMessageMac(key, overBcd));
    assert.equal(hasValidMessageMac(key, { ...macd, fields: { ...macd.fields, 4: '000000002351' } }), false);
    assert.equal(hasValidMessageMac(key, { ...macd, mti: '0100' }), false);
    assert.equal(hasValidMessageMac(Buffer.from('FEDCBA98765432100123456789ABCDEF', 'hex'), macd), false);
    assert.equal(hasValidMessageMac(key, sale), false);
    assert.equal(hasValidMessageMac(key, { ...sale, fields: { ...sale.fields, 128: macd.fields[64] } }), false);
  });
});
