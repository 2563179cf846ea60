/**
 * The card number scan of log lines: under `npm test` every logger also writes to a file in
 * MIPAY_TEST_LOG_DIR (logger.ts), and once both suites have finished `scripts/test.mjs` runs
 * captured-logs.scan.ts over all of them.
 */
import { isLuhnValid } from '../../protocols/luhn.ts';

/**
 * Card-number-like words in a text, as a DLP scanner finds them: 13 to 19 digits standing alone
 * (not inside a longer run of digits or letters, nor the fraction of a decimal number), starting
 * with an issuer digit of the card schemes (3 JCB/Amex, 4 VISA, 5 Mastercard, 6 UnionPay — so
 * millisecond timestamps, which start with 1, are not taken), and passing the Luhn check
 * (ISO/IEC 7812-1). Token numbers (62999x) count: a full device card number is as sensitive in a
 * log as a PAN.
 */
export function findCardNumbers(text: string): string[] {
  const found: string[] = [];
  // A whole word of digits: not inside a hex or base64 string (request ids, hashes, nonces have
  // digit runs) and not the fraction of a decimal number (a response time of 1.3497729999999137 ms).
  for (const match of text.matchAll(/(?<![0-9A-Za-z.])[3-6][0-9]{12,18}(?![0-9A-Za-z])/g)) {
    if (isLuhnValid(match[0])) found.push(match[0]);
  }
  return found;
}

/**
 * Unmasked mainland mobile numbers (11 digits, 1[3-9]…, standing alone) in the string values of
 * a log line (a JSON object; a line that is not JSON is taken whole). Only strings are looked
 * at: a phone number is always a string, while a JSON number of 11 digits is an amount or a count.
 */
export function findPhoneNumbers(line: string): string[] {
  let strings: string[];
  try {
    strings = [];
    const walk = (value: unknown, depth: number): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value && typeof value === 'object' && depth < 16) for (const [key, item] of Object.entries(value)) { strings.push(key); walk(item, depth + 1); }
    };
    walk(JSON.parse(line), 0);
  } catch {
    strings = [line];
  }
  return strings.flatMap((text) => [...text.matchAll(/(?<![0-9A-Za-z.])1[3-9][0-9]{9}(?![0-9A-Za-z])/g)].map((m) => m[0]));
}
