import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

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
 * Codes are stored hashed with the id of the code record as salt: a database reader cannot
 * lift a live code, and the 5-try limit is what stops guessing.
 */
export function hashOtp(recordId: string, code: string): string {
  return createHash('sha256').update(`${recordId}:${code}`).digest('hex');
}

export function otpMatches(recordId: string, code: string, storedHash: string): boolean {
  const given = Buffer.from(hashOtp(recordId, code), 'hex');
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
  now: Date = new Date(),
): OtpCheck {
  if (record.consumed_at) return { outcome: 'used' };
  if (record.wrong_tries >= otpPolicy.wrongTriesMax) return { outcome: 'burned' };
  if (record.expires_at.getTime() <= now.getTime()) return { outcome: 'expired' };
  if (!otpMatches(record.id, code, record.code_hash)) {
    const triesLeft = otpPolicy.wrongTriesMax - record.wrong_tries - 1;
    return triesLeft <= 0 ? { outcome: 'burned' } : { outcome: 'wrong', triesLeft };
  }
  return { outcome: 'ok' };
}
