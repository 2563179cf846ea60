import assert from 'node:assert/strict';
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * One-time codes sent by SMS: 6 digits, valid 5 minutes, used once, burned after 5 wrong tries.
 * Both the platform and the banks follow this policy; each keeps its own codes.
 */
export const otpPolicy = {
  digits: 6,
  validityMs: 5 * 60_000,
  wrongTriesMax: 5,
} as const;

export function generateOtp(): string {
  return String(randomInt(0, 10 ** otpPolicy.digits)).padStart(otpPolicy.digits, '0');
}

/**
 * What a stored code is bound to: a pepper from the keyring (never in the database) and the
 * code's subject — record id, phone (or card) and purpose.
 */
export interface OtpBinding {
  pepper: Buffer;
  subject: readonly string[];
}

/**
 * Codes are stored as HMAC-SHA256(pepper, record id | phone | purpose | code). A plain hash of a
 * 6-digit code falls to a million guesses from a database dump; keyed by a pepper that lives in
 * the keyring, the dump alone tests nothing. Online, the 5-try limit is what stops guessing.
 */
export function hashOtp(binding: OtpBinding, code: string): string {
  assert.ok(binding.pepper.length >= 32, 'an OTP pepper is at least 32 bytes');
  assert.ok(binding.subject.every((part) => !part.includes('|')));
  return createHmac('sha256', binding.pepper).update([...binding.subject, code].join('|')).digest('hex');
}

export function otpMatches(binding: OtpBinding, code: string, storedHash: string): boolean {
  const given = Buffer.from(hashOtp(binding, code), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

export type OtpCheck =
  | { outcome: 'ok' }
  | { outcome: 'wrong'; triesLeft: number }
  | { outcome: 'burned' }
  | { outcome: 'expired' }
  | { outcome: 'used' };

/**
 * Decides what a submitted code means for a stored code record, before any state changes.
 * The caller persists `wrong_tries + 1` on 'wrong' and the consumption on 'ok'.
 */
export function checkOtp(
  record: { id: string; code_hash: string; expires_at: Date; wrong_tries: number; consumed_at: Date | null },
  code: string,
  binding: OtpBinding,
  now: Date = new Date(),
): OtpCheck {
  if (record.consumed_at) return { outcome: 'used' };
  if (record.wrong_tries >= otpPolicy.wrongTriesMax) return { outcome: 'burned' };
  if (record.expires_at.getTime() <= now.getTime()) return { outcome: 'expired' };
  if (!otpMatches(binding, code, record.code_hash)) {
    const triesLeft = otpPolicy.wrongTriesMax - record.wrong_tries - 1;
    return triesLeft <= 0 ? { outcome: 'burned' } : { outcome: 'wrong', triesLeft };
  }
  return { outcome: 'ok' };
}
