import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { lukBatchAssociatedData, openSealedForDevice, sealForDevice, SealedMessageError } from './device-sealing.ts';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spkiOf = (pair: ReturnType<typeof p256>) => pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

test('sealed to a device, opened only by that device with the same associated data', () => {
  const device = p256();
  const other = p256();
  const aad = lukBatchAssociatedData('dc_1', 'luk_1');
  const secret = Buffer.from('{"keys":[{"atc":1,"key":"00112233445566778899aabbccddeeff"}]}');
  const sealed = sealForDevice(spkiOf(device), secret, aad);
  assert.equal(sealed.scheme, 'ecdh-p256-hkdf-sha256-aes-256-gcm');
  assert.equal(Buffer.from(sealed.ciphertext, 'base64').includes(secret), false);
  assert.deepEqual(openSealedForDevice(device.privateKey, sealed, aad), secret);
  const pkcs8 = device.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  assert.deepEqual(openSealedForDevice(pkcs8, sealed, aad), secret, 'the phone\'s stored PKCS#8 key opens it too');
  // A fresh ephemeral key per message: the same secret never seals the same way twice.
  assert.notEqual(sealForDevice(spkiOf(device), secret, aad).ephemeral_public_key, sealed.ephemeral_public_key);

  const flip = (b64: string) => { const b = Buffer.from(b64, 'base64'); b[b.length - 1]! ^= 1; return b.toString('base64'); };
  const refusals: Array<[string, () => unknown]> = [
    ['another device\'s key', () => openSealedForDevice(other.privateKey, sealed, aad)],
    ['another card', () => openSealedForDevice(device.privateKey, sealed, lukBatchAssociatedData('dc_2', 'luk_1'))],
    ['another batch', () => openSealedForDevice(device.privateKey, sealed, lukBatchAssociatedData('dc_1', 'luk_2'))],
    ['a changed ciphertext', () => openSealedForDevice(device.privateKey, { ...sealed, ciphertext: flip(sealed.ciphertext) }, aad)],
    ['a changed tag', () => openSealedForDevice(device.privateKey, { ...sealed, tag: flip(sealed.tag) }, aad)],
    ['a changed IV', () => openSealedForDevice(device.privateKey, { ...sealed, iv: flip(sealed.iv) }, aad)],
    ['another ephemeral key', () => openSealedForDevice(device.privateKey, { ...sealed, ephemeral_public_key: spkiOf(other) }, aad)],
    ['an unknown scheme', () => openSealedForDevice(device.privateKey, { ...sealed, scheme: 'none' as never }, aad)],
  ];
  for (const [what, attempt] of refusals) assert.throws(attempt, SealedMessageError, what);
});

test('only P-256 device keys are sealed to', () => {
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  assert.throws(() => sealForDevice(ed, Buffer.from('x'), Buffer.alloc(0)), SealedMessageError);
});
