// The network keeps no full card number (DESIGN §5): a log row holds the first 6 and last 4
// digits, an HMAC-SHA256 of the number under the keyring's `network.pan-hash` (to match a refund
// to its sale), and — only while a reversal or a completion may still need to send it to the
// issuer — the number sealed (AES-256-GCM) under the keyring's `network.pan-seal`. The bank's
// ISO 8583 endpoint chooses the zone MAC key from field 2's BIN and locks the card by its
// number, so a reversal or a completion the network originates must carry the PAN again.
import { createHmac } from 'node:crypto';
import { unwrapKey, wrapKey } from './key-wrap.ts';

export interface CardKeys {
  /** 32 bytes, `network.pan-hash`. */
  hashKey: Buffer;
  /** 32 bytes, `network.pan-seal`. */
  sealKey: Buffer;
}

/** HMAC-SHA256 of the number, hex. */
export function cardNumberHash(keys: CardKeys, pan: string): string {
  return createHmac('sha256', keys.hashKey).update(pan, 'utf8').digest('hex');
}

/** The columns a log row keeps of a card number. */
export function cardNumberAtRest(
  keys: CardKeys, pan: string,
): { pan_first6: string; pan_last4: string; pan_hash: string; pan_sealed: string } {
  const hash = cardNumberHash(keys, pan);
  return {
    pan_first6: pan.slice(0, 6), pan_last4: pan.slice(-4), pan_hash: hash,
    pan_sealed: wrapKey(keys.sealKey, Buffer.from(pan, 'utf8'), `network:pan:${hash}`),
  };
}

/**
 * The columns a log row keeps of a device card's token number: its last 4, its keyed hash and
 * the number sealed (a completion's answer names the token the terminal knows, never the PAN).
 */
export function tokenAtRest(
  keys: CardKeys, token: string | null,
): { token_last4: string | null; token_hash: string | null; token_sealed: string | null } {
  if (!token) return { token_last4: null, token_hash: null, token_sealed: null };
  const hash = cardNumberHash(keys, token);
  const sealed = wrapKey(keys.sealKey, Buffer.from(token, 'utf8'), `network:token:${hash}`);
  return { token_last4: token.slice(-4), token_hash: hash, token_sealed: sealed };
}

/** The token number `tokenAtRest` sealed, or undefined when the row has none. */
export function unsealToken(
  keys: CardKeys, row: { token_sealed: string | null; token_hash: string | null },
): string | undefined {
  if (!row.token_sealed || !row.token_hash) return undefined;
  return unwrapKey(keys.sealKey, row.token_sealed, `network:token:${row.token_hash}`).toString('utf8');
}

/** The number `cardNumberAtRest` sealed; throws when the row's hash or the key is not the one it was sealed with. */
export function unsealCardNumber(
  keys: CardKeys, row: { pan_sealed: string | null; pan_hash: string | null },
): string | undefined {
  if (!row.pan_sealed || !row.pan_hash) return undefined;
  return unwrapKey(keys.sealKey, row.pan_sealed, `network:pan:${row.pan_hash}`).toString('utf8');
}
