import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cardVerificationValue } from './card-verification-value.ts';

describe('card verification value (CVV algorithm)', () => {
  it('gives the published example: PAN 4123456789012345, expiry 8701, service code 101 → 561', () => {
    const cvk = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
    assert.equal(cardVerificationValue(cvk, '4123456789012345', '8701', '101'), '561');
  });

  it('changes with the expiry and the service code, so the printed value is not the stripe\'s', () => {
    const cvk = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
    const printed = cardVerificationValue(cvk, '6217000010000000003', '2912', '000');
    assert.match(printed, /^[0-9]{3}$/);
    assert.notEqual(cardVerificationValue(cvk, '6217000010000000003', '2911', '000') + cardVerificationValue(cvk, '6217000010000000003', '2912', '101'), printed + printed);
  });
});
