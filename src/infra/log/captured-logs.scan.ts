/**
 * Run by `scripts/test.mjs` after both suites (not a `.test.ts`: it must see every other test's
 * log lines): no log line written during the whole run holds a card or token number, or a
 * mainland mobile number unmasked.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { maskCardNumber } from '../../protocols/luhn.ts';
import { findCardNumbers, findPhoneNumbers } from './captured-logs.ts';
import { maskPhoneNumber } from './logger.ts';

it('no card or token number, nor an unmasked phone number, in any log line of the test run', () => {
  const dir = process.env.MIPAY_TEST_LOG_DIR;
  assert.ok(dir, 'MIPAY_TEST_LOG_DIR names the directory the suites logged into');
  let lines = 0;
  const findings: string[] = [];
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8').split('\n');
    text.forEach((line, index) => {
      if (line === '') return;
      lines += 1;
      for (const number of findCardNumbers(line)) findings.push(`${name}:${index + 1} ${maskCardNumber(number)}`);
      for (const number of findPhoneNumbers(line)) findings.push(`${name}:${index + 1} phone ${maskPhoneNumber(number)}`);
    });
  }
  // A run that captured nothing would pass without having looked at anything.
  assert.ok(lines > 1_000, `only ${lines} log lines were captured`);
  assert.deepEqual(findings, [], `card or phone numbers in ${findings.length} log lines`);
});
