import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { declineReasons, DeclineReason } from './decline-reasons.ts';
import { ResponseCode, responseCodeMeaning, responseCodes } from './response-codes.ts';
import { RESPONSE_CODES } from './spec.ts';

const networkReadme = readFileSync(new URL('../../network/README.md', import.meta.url), 'utf8');

test('field 39: each code once, each with a name and a meaning', () => {
  assert.equal(new Set(responseCodes.map((entry) => entry.code)).size, responseCodes.length, 'no code twice');
  for (const entry of responseCodes) {
    assert.match(entry.code, /^[0-9A-Z]{2}$/, entry.name);
    assert.ok(entry.meaning.length > 0, entry.name);
  }
  assert.equal(responseCodeMeaning(ResponseCode.INSUFFICIENT_FUNDS), 'insufficient funds');
  assert.equal(responseCodeMeaning('XX'), undefined);
  assert.equal(RESPONSE_CODES.get('A0'), 'MAC verification failed', 'the codec spec reads the same catalogue');
});

test('field 44: each reason has its party, a catalogued field 39 code and a "raised when" sentence', () => {
  const codes = new Set(responseCodes.map((entry) => entry.code));
  for (const [name, entry] of Object.entries(declineReasons)) {
    assert.match(name, /^[A-Z][A-Z0-9_]*$/);
    assert.ok(codes.has(entry.responseCode), `${name}: ${entry.responseCode}`);
    assert.ok(entry.raisedWhen.length > 10, name);
    assert.ok(name.length <= 25, `${name} fits field 44 (ans..25)`);
  }
  assert.equal(DeclineReason.BAD_ARQC, 'BAD_ARQC');
});

test('the network README lists every response code and every field-44 reason', () => {
  const missingCodes = responseCodes.filter(
    (e) => !networkReadme.includes(`| ${e.code} | \`${e.name}\` | ${e.meaning} |`),
  );
  assert.deepEqual(
    missingCodes.map((e) => e.code),
    [],
  );
  const missingReasons = Object.entries(declineReasons).filter(
    ([name, e]) => !networkReadme.includes(`| \`${name}\` | ${e.raisedBy} | ${e.responseCode} | ${e.raisedWhen} |`),
  );
  assert.deepEqual(
    missingReasons.map(([name]) => name),
    [],
  );
});
