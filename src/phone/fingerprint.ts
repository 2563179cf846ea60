// The phone's fingerprint sensor and device passcode, as the pay flow uses them. The sensor
// holds one enrolled finger (its template is modelled by the finger's name); the platform only
// ever hears a signed "fingerprint verified", never the finger. After too many wrong fingers
// the sensor locks, and only the device passcode (kept as a scrypt hash) opens it again, as a
// phone's lock screen does.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { PhoneError } from './errors.ts';
import type { FingerprintState } from './phone-state.ts';

/** Wrong fingers in a row before the pay flow needs the passcode. */
export const fingerprintAttemptsMax = 5;
const passcodeCost = { N: 2 ** 14, r: 8, p: 1 } as const;

export function checkPasscodeFormat(passcode: string): void {
  if (!/^[0-9]{4,16}$/.test(passcode)) throw new PhoneError('parameter_invalid', 'The device passcode is 4 to 16 digits.', 'passcode');
}

function hashPasscode(passcode: string, salt: Buffer): Buffer {
  return scryptSync(passcode, salt, 32, passcodeCost);
}

/** The sensor state of a new phone: `finger` enrolled (or none), passcode set. */
export function newFingerprintState(enrolledFinger: string | null, passcode: string): FingerprintState {
  checkPasscodeFormat(passcode);
  const salt = randomBytes(16);
  return { enrolledFinger, failedAttempts: 0, lockedAt: null, passcodeHash: hashPasscode(passcode, salt).toString('hex'), passcodeSalt: salt.toString('hex') };
}

/**
 * Checks a finger on the sensor. Changes `state` in place (the caller persists it, success or
 * not, so a restart does not reset the count of wrong fingers) and throws on any refusal.
 */
export function verifyFinger(state: FingerprintState, finger: string, now: Date): void {
  if (!state.enrolledFinger) throw new PhoneError('fingerprint_not_enrolled', 'No fingerprint is enrolled on this phone; paying needs one.', 'finger');
  if (state.lockedAt) throw new PhoneError('fingerprint_locked', `Fingerprint is locked after ${fingerprintAttemptsMax} wrong tries: unlock with the device passcode.`, 'finger');
  if (finger === state.enrolledFinger) {
    state.failedAttempts = 0;
    return;
  }
  state.failedAttempts += 1;
  if (state.failedAttempts >= fingerprintAttemptsMax) {
    state.lockedAt = now.toISOString();
    throw new PhoneError('fingerprint_locked', `Fingerprint not recognized; locked after ${fingerprintAttemptsMax} wrong tries: unlock with the device passcode.`, 'finger');
  }
  throw new PhoneError('fingerprint_not_recognized', `Fingerprint not recognized (${fingerprintAttemptsMax - state.failedAttempts === 1 ? '1 try' : `${fingerprintAttemptsMax - state.failedAttempts} tries`} left).`, 'finger');
}

/** The device passcode opens a locked sensor. Changes `state` in place. */
export function unlockWithPasscode(state: FingerprintState, passcode: string): void {
  const expected = Buffer.from(state.passcodeHash, 'hex');
  const given = hashPasscode(passcode, Buffer.from(state.passcodeSalt, 'hex'));
  if (!timingSafeEqual(expected, given)) throw new PhoneError('passcode_wrong', 'Wrong device passcode.', 'passcode');
  state.failedAttempts = 0;
  state.lockedAt = null;
}
