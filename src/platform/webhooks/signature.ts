import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures (Stripe's scheme): `Mipay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`
 * over `<t>.<raw body>` with the endpoint's secret. The timestamp is signed, so a captured
 * delivery cannot be replayed later than the tolerance.
 */
export const signatureHeader = 'mipay-signature';
export const defaultToleranceS = 300;

export function signPayload(secret: string, payload: string, timestampS: number): string {
  return createHmac('sha256', secret).update(`${timestampS}.${payload}`).digest('hex');
}

export function signatureHeaderValue(secret: string, payload: string, now: Date): string {
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${signPayload(secret, payload, t)}`;
}

export type SignatureCheck = { ok: true; timestampS: number } | { ok: false; reason: 'malformed_header' | 'timestamp_outside_tolerance' | 'signature_mismatch' };

/**
 * What a merchant runs on receipt. `toleranceS` must be a positive number of seconds: there is
 * deliberately no way to switch the timestamp check off.
 */
export function verifySignature(options: { payload: string; header: string | undefined; secret: string; toleranceS?: number; now?: Date }): SignatureCheck {
  const toleranceS = options.toleranceS ?? defaultToleranceS;
  if (!(toleranceS > 0)) throw new RangeError('toleranceS must be a positive number of seconds');
  const parts = new Map<string, string[]>();
  for (const item of (options.header ?? '').split(',')) {
    const [name, value] = item.split('=', 2);
    if (!name || !value) continue;
    parts.set(name.trim(), [...(parts.get(name.trim()) ?? []), value.trim()]);
  }
  const timestampS = Number(parts.get('t')?.[0]);
  const candidates = parts.get('v1') ?? [];
  if (!Number.isInteger(timestampS) || candidates.length === 0) return { ok: false, reason: 'malformed_header' };
  const nowS = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowS - timestampS) > toleranceS) return { ok: false, reason: 'timestamp_outside_tolerance' };
  const expected = Buffer.from(signPayload(options.secret, options.payload, timestampS), 'hex');
  // Several v1 values are accepted so that a secret can be rolled without missing deliveries.
  const matches = candidates.some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true, timestampS } : { ok: false, reason: 'signature_mismatch' };
}
