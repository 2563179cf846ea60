import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ibm3624NaturalPin, ibm3624Offset, ibm3624OffsetMatches, type PinOffsetParameters } from './pin-offset.ts';

// Published examples: the psec library's IBM 3624 tests (github.com/knovichikhin/psec,
// tests/test_pin.py) — PVK 0123456789ABCDEF FEDCBA9876543210, decimalisation table
// 1234567890123456, account data 1122334455667788.
const pvk = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
const published = (validationData: string, pad: string): PinOffsetParameters => ({ pvk, validationData, pad, decimalizationTable: '1234567890123456' });

describe('IBM 3624 PIN offset', () => {
  it('gives the published natural PINs', () => {
    assert.equal(ibm3624NaturalPin(published('1122334455667788', 'F'), 4), '4524');
    assert.equal(ibm3624NaturalPin(published('11223344556677', 'F'), 4), '5518');
    assert.equal(ibm3624NaturalPin(published('12233445566778', '1'), 4), '3675');
    assert.equal(ibm3624NaturalPin(published('22334455667788', '1'), 4), '5550');
  });

  it('gives the published offsets', () => {
    const parameters = published('1122334455667788', 'F');
    assert.equal(ibm3624Offset(parameters, '4524'), '0000');
    assert.equal(ibm3624Offset(parameters, '5635'), '1111');
    assert.equal(ibm3624Offset(parameters, '0000'), '6586');
    assert.equal(ibm3624Offset(parameters, '1111'), '7697');
    assert.equal(ibm3624Offset(parameters, '1234'), '7710');
  });

  it('verifies only the PIN whose offset is kept, of the same length, under the same PVK', () => {
    const parameters = published('1122334455667788', 'F');
    assert.equal(ibm3624OffsetMatches(parameters, '1234', '7710'), true);
    assert.equal(ibm3624OffsetMatches(parameters, '1235', '7710'), false);
    assert.equal(ibm3624OffsetMatches(parameters, '12340', '7710'), false);
    const otherPvk = { ...parameters, pvk: Buffer.from('FEDCBA98765432100123456789ABCDEF', 'hex') };
    assert.equal(ibm3624OffsetMatches(otherPvk, '1234', '7710'), false);
    const six = ibm3624Offset(parameters, '135790');
    assert.equal(six.length, 6);
    assert.equal(ibm3624OffsetMatches(parameters, '135790', six), true);
  });
});
