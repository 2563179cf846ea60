import { randomInt } from 'node:crypto';
import { TOKEN_BIN_PREFIX } from '../token-service.ts';
import { luhnCheckDigit } from '../../protocols/luhn.ts';

export const tokenNumberDigitsMin = 16;
export const tokenNumberDigitsMax = 19;

/**
 * A device card number: a BIN from the reserved token range 629990–629999, as many digits as the
 * PAN (16–19), random, Luhn-valid, and never ending in the PAN's last 4 (so a receipt's last 4
 * tells which one was used). Uniqueness is the caller's: the table's unique index.
 */
export function drawTokenNumber(panLength: number, panLast4: string): string {
  const digits = Math.min(tokenNumberDigitsMax, Math.max(tokenNumberDigitsMin, panLength));
  for (;;) {
    let body = TOKEN_BIN_PREFIX + String(randomInt(0, 10));
    while (body.length < digits - 1) body += String(randomInt(0, 10));
    const token = body + String(luhnCheckDigit(body));
    if (token.slice(-4) !== panLast4) return token;
  }
}

/** First 6 and last 4 at most: what any screen or receipt may show of a card or token number. */
export function maskNumber(number: string): string {
  return `${number.slice(0, 6)}${'*'.repeat(number.length - 10)}${number.slice(-4)}`;
}
