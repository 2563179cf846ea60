// Terminal keys at rest: the network's table holds them only wrapped under the terminal KEK,
// which lives in the keyring (`network.terminal-kek`), never in the database. AES-256-GCM with
// the key's role and owner as associated data, so a wrapped key copied onto another terminal's
// row, or into another column, does not open.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const format = 'k1';

/** `k1.<iv>.<ciphertext>.<tag>` (base64url parts). `label` names what the key is, e.g. `terminal:POS00001:tmk`. */
export function wrapKey(kek: Buffer, key: Buffer, label: string): string {
  assert.equal(kek.length, 32, 'the terminal KEK is 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(label, 'utf8'));
  const sealed = Buffer.concat([cipher.update(key), cipher.final()]);
  return [format, iv, sealed, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

/** The key `wrapKey` wrapped; throws when the KEK or the label is not the one it was wrapped with. */
export function unwrapKey(kek: Buffer, wrapped: string, label: string): Buffer {
  const [version, iv, sealed, tag] = wrapped.split('.');
  assert.ok(version === format && iv && sealed && tag, 'not a wrapped key');
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(label, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]);
}
