import { randomInt } from 'node:crypto';

/**
 * A Mi account number (小米账号): 10 digits, the first not 0, drawn at random, so a number says
 * nothing about when the account was made and its neighbours are not accounts of anyone known.
 */
export function drawMiNumber(): string {
  return String(randomInt(1, 10)) + String(randomInt(0, 1_000_000_000)).padStart(9, '0');
}

export const miNumberPattern = /^[1-9][0-9]{9}$/;
