// A request signed by the phone's device key (ECDSA P-256 with SHA-256, DER signature), carried in
// one header so the JSON body stays the API's own:
//
//   Mipay-Device-Signature: t=<ISO 8601 time>,n=<nonce, base64url>,s=<signature, base64>
//
// The signed bytes are the lines (joined with '\n'):
//   mipay-device-request-v1, the device id (dev_…), the HTTP method, the path with its query,
//   the timestamp, the nonce, and the SHA-256 of the exact body bytes (hex; of nothing when empty).
// The method and path bind it to one route and one object (it cannot be re-targeted at another
// device card), the body hash to one request, the timestamp bounds it and the nonce — kept by
// the server for as long as the timestamp is acceptable — makes it single-use.
import { createHash, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

export const DEVICE_SIGNATURE_HEADER = 'mipay-device-signature';
const version = 'mipay-device-request-v1';
export const deviceNoncePattern = /^[A-Za-z0-9_-]{16,64}$/;
const timestampLengthMax = 40;
const signatureLengthMax = 200;

export interface DeviceRequest {
  deviceId: string;
  method: string;
  /** The request target as sent: path and query string. */
  path: string;
  body: Buffer | string;
}

export interface DeviceSignature {
  timestamp: string;
  nonce: string;
  /** base64 DER ECDSA signature. */
  signature: string;
}

export function deviceRequestMessage(request: DeviceRequest, signed: { timestamp: string; nonce: string }): Buffer {
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  return Buffer.from([version, request.deviceId, request.method.toUpperCase(), request.path, signed.timestamp, signed.nonce, bodyHash].join('\n'), 'utf8');
}

/** The header value for `request`, signed now with a fresh nonce. */
export function signDeviceRequest(privateKey: KeyObject, request: DeviceRequest, timestamp: string, nonce = randomBytes(16).toString('base64url')): string {
  const signature = sign('sha256', deviceRequestMessage(request, { timestamp, nonce }), privateKey).toString('base64');
  return `t=${timestamp},n=${nonce},s=${signature}`;
}

/** Parses the header; undefined when absent or not of the form above. */
export function parseDeviceSignature(header: string | undefined): DeviceSignature | undefined {
  if (typeof header !== 'string' || header.length > 400) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 1) return undefined;
    const name = part.slice(0, at).trim();
    if (fields.has(name)) return undefined;
    fields.set(name, part.slice(at + 1).trim());
  }
  const timestamp = fields.get('t');
  const nonce = fields.get('n');
  const signature = fields.get('s');
  if (fields.size !== 3 || !timestamp || !nonce || !signature) return undefined;
  if (timestamp.length > timestampLengthMax || !deviceNoncePattern.test(nonce)) return undefined;
  if (signature.length > signatureLengthMax || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return undefined;
  return { timestamp, nonce, signature };
}

/** True when `signature` verifies for `request` under the device's public key. */
export function verifyDeviceRequest(publicKey: KeyObject, request: DeviceRequest, signature: DeviceSignature): boolean {
  try {
    return verify('sha256', deviceRequestMessage(request, signature), publicKey, Buffer.from(signature.signature, 'base64'));
  } catch {
    return false;
  }
}
