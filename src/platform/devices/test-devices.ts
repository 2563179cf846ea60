/** Test support: phones as the phone app would present them when registering. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

let hardwareCounter = 0;
/** A phone with its own P-256 key pair, as the phone app would generate it. */
export function newPhoneKeys(): { publicKey: string; privateKey: KeyObject; hardwareId: string } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  hardwareCounter += 1;
  return {
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), privateKey: pair.privateKey,
    hardwareId: `imei-${process.pid}-${hardwareCounter}-${Date.now()}`,
  };
}

export function deviceBody(keys: { publicKey: string; hardwareId: string }, overrides: Record<string, unknown> = {}) {
  return {
    device_id: keys.hardwareId, model: 'Mi 9', os_version: '10.2.3.0', nfc: true, secure_element: true,
    fingerprint_enrolled: true, find_device_on: true, public_key: keys.publicKey, ...overrides,
  };
}
