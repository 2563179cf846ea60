// Sealing a secret to one device: what the token service does to a batch of limited-use keys so
// that only the phone that owns the device card can open it.
//
// ECIES-style, ephemeral-static (SEC 1 v2 §5.1 / NIST SP 800-56A C(1e, 1s) ECC CDH):
//   1. an ephemeral P-256 key pair per sealed message;
//   2. Z = ECDH(ephemeral private, device static public) — the x coordinate, 32 bytes;
//   3. K = HKDF-SHA256 (RFC 5869) of Z, salt = ephemeral public SPKI || device public SPKI,
//      info = label || 0x0A || associated data, 32 bytes;
//   4. AES-256-GCM under K with a random 96-bit IV, the associated data bound as GCM AAD.
// The device opens it with its static private key (it never leaves the secure element). A copy
// of the sealed message — in a log, a proxy, a stolen session's answers — opens nothing.
import {
  createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes,
  type KeyObject,
} from 'node:crypto';

export const DEVICE_SEALING_SCHEME = 'ecdh-p256-hkdf-sha256-aes-256-gcm';
const label = 'mipay-sealed-for-device-v1';
const ivBytes = 12;
const tagBytes = 16;

/** A sealed message as it travels (JSON): base64 fields, the scheme named so it can change later. */
export interface SealedForDevice {
  scheme: typeof DEVICE_SEALING_SCHEME;
  /** The ephemeral public key, SPKI DER in base64. */
  ephemeral_public_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** The message could not be opened: wrong device key, other associated data, or altered bytes. */
export class SealedMessageError extends Error {
  override readonly name = 'SealedMessageError';
}

function p256PublicKey(spkiBase64: string): KeyObject {
  const key = createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SealedMessageError('not a P-256 public key');
  }
  return key;
}

function spki(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

function messageKey(shared: Buffer, ephemeralSpki: Buffer, deviceSpki: Buffer, associatedData: Buffer): Buffer {
  const info = Buffer.concat([Buffer.from(`${label}\n`, 'utf8'), associatedData]);
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeralSpki, deviceSpki]), info, 32));
  shared.fill(0);
  return key;
}

/** Seals `plaintext` to the device whose P-256 public key (SPKI DER, base64) is given. */
export function sealForDevice(devicePublicKeySpki: string, plaintext: Buffer, associatedData: Buffer): SealedForDevice {
  const devicePublic = p256PublicKey(devicePublicKeySpki);
  const ephemeral = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ephemeralSpki = spki(ephemeral.publicKey);
  const key = messageKey(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: devicePublic }), ephemeralSpki, spki(devicePublic), associatedData);
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  key.fill(0);
  return {
    scheme: DEVICE_SEALING_SCHEME, ephemeral_public_key: ephemeralSpki.toString('base64'), iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64'),
  };
}

/** Opens a sealed message with the device's private key (PKCS#8 DER base64, or a KeyObject). */
export function openSealedForDevice(devicePrivateKey: KeyObject | string, sealed: SealedForDevice, associatedData: Buffer): Buffer {
  if (sealed?.scheme !== DEVICE_SEALING_SCHEME) throw new SealedMessageError(`unknown sealing scheme ${String(sealed?.scheme)}`);
  const privateKey = typeof devicePrivateKey === 'string'
    ? createPrivateKey({ key: Buffer.from(devicePrivateKey, 'base64'), format: 'der', type: 'pkcs8' })
    : devicePrivateKey;
  const iv = Buffer.from(sealed.iv, 'base64');
  const tag = Buffer.from(sealed.tag, 'base64');
  if (iv.length !== ivBytes || tag.length !== tagBytes) throw new SealedMessageError('bad IV or tag length');
  let ephemeralPublic: KeyObject;
  try {
    ephemeralPublic = p256PublicKey(sealed.ephemeral_public_key);
  } catch {
    throw new SealedMessageError('the ephemeral key is not a P-256 public key');
  }
  const ephemeralSpki = spki(ephemeralPublic);
  const key = messageKey(diffieHellman({ privateKey, publicKey: ephemeralPublic }), ephemeralSpki, spki(createPublicKey(privateKey)), associatedData);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(associatedData);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch {
    throw new SealedMessageError('the sealed message does not open with this key and associated data');
  } finally {
    key.fill(0);
  }
}

/**
 * The associated data of a sealed limited-use key batch: the device card and batch it belongs
 * to, so a sealed batch cannot be passed off as another card's or another batch's.
 */
export function lukBatchAssociatedData(deviceCardId: string, batchId: string): Buffer {
  return Buffer.from(`mipay-luk-batch-v1\n${deviceCardId}\n${batchId}`, 'utf8');
}
