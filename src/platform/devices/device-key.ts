import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { errors } from '../errors.ts';

/**
 * The phone's own key pair (ECDSA P-256): the private key never leaves the phone's secure
 * element; the platform keeps the public key and checks the statements the phone signs. This is
 * how a biometric *result* reaches the platform — never the fingerprint itself.
 */

/** Accepts SPKI DER in base64, or PEM; answers the key as SPKI DER base64 (what is stored). */
export function parseDevicePublicKey(text: string): string {
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN')
      ? createPublicKey(text)
      : createPublicKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw errors.device_public_key_invalid('The public key is neither SPKI DER in base64 nor PEM.', 'public_key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw errors.device_public_key_invalid('The device key must be an ECDSA P-256 (prime256v1) key.', 'public_key');
  }
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

export const biometricResults = ['fingerprint_verified'] as const;
export type BiometricResult = (typeof biometricResults)[number];

/**
 * The exact bytes the phone signs (ECDSA with SHA-256, DER signature, base64): a version tag,
 * the platform's device id, the challenge nonce, the phone's timestamp (ISO 8601) and the
 * result, one per line. Binding the nonce makes a statement single-use; the timestamp bounds it.
 */
export function biometricStatementMessage(statement: { deviceId: string; nonce: string; timestamp: string; result: BiometricResult; payment?: PaymentBinding | undefined }): Buffer {
  const lines = [statement.payment ? 'mipay-payment-v1' : 'mipay-biometric-v1', statement.deviceId, statement.nonce, statement.timestamp, statement.result];
  if (statement.payment) lines.push(...paymentBindingLines(statement.payment));
  return Buffer.from(lines.join('\n'), 'utf8');
}

/**
 * What a payment statement is bound to: the amount in fen and the payee — `mi:<Mi account
 * number>` for a transfer, `order:<order id>` for a merchant order. A statement signed for one
 * payment does not verify for another amount or payee.
 */
export interface PaymentBinding {
  amountFen: bigint;
  payee: string;
}

/** The lines a payment statement adds after the result (fingerprint) or the timestamp (certificate). */
export function paymentBindingLines(binding: PaymentBinding): string[] {
  return [String(binding.amountFen), binding.payee];
}

export function describeBinding(binding: PaymentBinding): string {
  return `${binding.payee} ${binding.amountFen}`;
}

export function verifyDeviceSignature(publicKeySpkiBase64: string, message: Buffer, signatureBase64: string): boolean {
  const key = createPublicKey({ key: Buffer.from(publicKeySpkiBase64, 'base64'), format: 'der', type: 'spki' });
  try {
    return verify('sha256', message, key, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}
