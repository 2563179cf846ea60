import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Time-based one-time passwords for the staff's second factor: RFC 6238 (TOTP) over RFC 4226
 * (HOTP), HMAC-SHA-1, 30-second steps, 6 digits — what every authenticator app speaks.
 */
export const totpPolicy = { stepSeconds: 30, digits: 6, secretBytes: 20, skewSteps: 1 } as const;

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 section 6 base32, without padding (as otpauth URIs carry secrets). */
export function base32Encode(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** RFC 4648 section 6 base32 decoding; spaces, case and padding are forgiven, other characters throw. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = base32Alphabet.indexOf(char);
    if (index < 0) throw new Error(`base32Decode: "${char}" is not a base32 character`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 section 5.3: HOTP(K, C) = Truncate(HMAC(K, C)) mod 10^digits, with the hash RFC 6238 allows. */
export function hotp(secret: Buffer, counter: bigint, digits: number = totpPolicy.digits, hash: 'sha1' | 'sha256' | 'sha512' = 'sha1'): string {
  assert.ok(digits >= 6 && digits <= 10, 'HOTP codes have 6 to 10 digits');
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(counter);
  const mac = createHmac(hash, secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238 section 4.2: the time step T = floor((unix time - T0) / X), with T0 = 0 and X = 30 s. */
export function totpStep(at: Date, stepSeconds: number = totpPolicy.stepSeconds): bigint {
  return BigInt(Math.floor(at.getTime() / 1000 / stepSeconds));
}

/** RFC 6238: the code for the step that contains `at`. */
export function totp(secret: Buffer, at: Date, options: { digits?: number; hash?: 'sha1' | 'sha256' | 'sha512' } = {}): string {
  return hotp(secret, totpStep(at), options.digits ?? totpPolicy.digits, options.hash ?? 'sha1');
}

/**
 * The step a code belongs to, within one step of clock drift either way (RFC 6238 section 5.2),
 * or undefined. A step at or before `lastUsedStep` is refused: a code works once, so one seen
 * over a shoulder or in a proxy log is worthless (section 5.2: "MUST NOT accept the second attempt").
 */
export function matchTotp(secret: Buffer, code: string, at: Date, lastUsedStep: bigint | null): bigint | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined;
  const now = totpStep(at);
  let matched: bigint | undefined;
  // Every candidate is computed and compared, so timing does not tell which step matched.
  for (let drift = -totpPolicy.skewSteps; drift <= totpPolicy.skewSteps; drift++) {
    const step = now + BigInt(drift);
    const expected = Buffer.from(hotp(secret, step));
    if (timingSafeEqual(expected, Buffer.from(code)) && (lastUsedStep === null || step > lastUsedStep)) matched ??= step;
  }
  return matched;
}

export function newTotpSecret(): Buffer {
  return randomBytes(totpPolicy.secretBytes);
}

/** The Key URI Format authenticator apps scan (Google Authenticator's `otpauth://totp/...`). */
export function otpauthUri(secret: Buffer, account: string, issuer: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret: base32Encode(secret), issuer, algorithm: 'SHA1', digits: String(totpPolicy.digits), period: String(totpPolicy.stepSeconds),
  });
  return `otpauth://totp/${label}?${query.toString()}`;
}
