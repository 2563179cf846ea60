import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luhnCheckDigit } from '../../protocols/luhn.ts';
import { findCardNumbers, findPhoneNumbers } from './captured-logs.ts';

const withCheck = (digits: string) => `${digits}${luhnCheckDigit(digits)}`;

describe('findCardNumbers', () => {
  it('finds Luhn-valid card and token numbers of 13 to 19 digits anywhere in a line', () => {
    const unionPay = withCheck('622848001234567');
    const token = withCheck('629990123456789012');
    const visa = withCheck('438088123456789');
    const line = JSON.stringify({ msg: `paid with ${unionPay}`, nested: { t: token }, text: `card:${visa}, ok` });
    assert.deepEqual(findCardNumbers(line), [unionPay, token, visa]);
  });

  it('leaves masked numbers, timestamps, amounts, RRNs and digit runs that fail Luhn alone', () => {
    const bad = withCheck('622848001234567');
    const failsLuhn = `${bad.slice(0, -1)}${(Number(bad.at(-1)) + 1) % 10}`;
    const line = JSON.stringify({ pan: '622848******4567', time: 1795000000000, at: withCheck('179500000000'), amount: '000000002500', rrn: '000000000123', n: failsLuhn });
    assert.deepEqual(findCardNumbers(line), []);
  });

  it('does not take a piece of a longer digit run, nor the fraction of a decimal number', () => {
    assert.deepEqual(findCardNumbers(`${'1'.repeat(5)}${withCheck('622848001234567')}`), []);
    assert.deepEqual(findCardNumbers(`{"responseTime":1.${withCheck('349772999999913')}}`), []);
    assert.deepEqual(findCardNumbers(`{"reqId":"req_411a4c09f4cb44${withCheck('419117152240')}c9c456"}`), [], 'a digit run inside a hex request id');
  });
});

describe('findPhoneNumbers', () => {
  it('finds unmasked mainland mobile numbers in the string values of a line, not masked ones nor JSON numbers', () => {
    const line = JSON.stringify({ msg: 'texting 13800138000', req: { url: '/v1/sandbox/sms?phone=15912345678&limit=1' }, to: '138****8000', balance_fen: 13800138000 });
    assert.deepEqual(findPhoneNumbers(line), ['13800138000', '15912345678']);
    assert.deepEqual(findPhoneNumbers('plain text 18612345678 line'), ['18612345678']);
    assert.deepEqual(findPhoneNumbers(JSON.stringify({ t: '1795000000000', id: 'req_13800138000abc', n: '213800138000', old: '12345678901' })), []);
  });
});
