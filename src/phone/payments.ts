// The wallet app's payments to people and merchants, online over the platform's API: look up a
// payee (the masked name the user confirms), transfer, pay an order; verified by the payment
// password or by a fingerprint (the phone signs "fingerprint verified" bound to this payment
// with its device key), optionally signed with a payment certificate whose key this phone made
// and keeps. Turning fingerprint payment on or off, and enrolling or revoking a certificate.
import { createPrivateKey, generateKeyPairSync, randomUUID, sign, webcrypto } from 'node:crypto';
import { PhoneError } from './errors.ts';
import type { MiPhone } from './phone.ts';
import type { StoredPaymentCertificate } from './phone-state.ts';
import { PlatformClient } from '../platform/client.ts';

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** How the user verifies a payment on this phone. */
export interface PaymentVerificationInput {
  /** The finger on the sensor: fingerprint payment instead of the password. */
  finger?: string | undefined;
  paymentPassword?: string | undefined;
  /** A code the platform texted with purpose `payment`: the second factor. */
  smsCode?: string | undefined;
  /** Sign with this phone's payment certificate too (the certificate tier). */
  certificate?: boolean | undefined;
}

export interface PayeeFound { confirmation: string; name: string; account: string; miNumber: string; expiresAt: string }

function context(phone: MiPhone): { platform: PlatformClient; token: string; deviceId: string } {
  const token = phone.state.session?.token;
  if (!token) throw new PhoneError('not_logged_in', 'Log in first: `mipay phone login`.');
  const deviceId = phone.state.deviceId;
  if (!deviceId) throw new PhoneError('not_registered',
    'This phone is not registered with the platform yet: log in first.');
  return { platform: new PlatformClient(phone.state.platformUrl), token, deviceId };
}

/** Turns fingerprint payment on this phone on (the payment password confirms it) or off. */
export async function setFingerprintPayment(phone: MiPhone,
  input: { enabled: boolean; paymentPassword?: string | undefined }): Promise<boolean> {
  const { platform, token, deviceId } = context(phone);
  const device = await platform.call<{ fingerprint_payment: boolean }>({
    method: 'PUT', path: `/v1/devices/${deviceId}/fingerprint-payment`, token,
    body: { enabled: input.enabled,
      ...(input.paymentPassword !== undefined ? { payment_password: input.paymentPassword } : {}) },
  });
  return device.fingerprint_payment;
}

/** Looks a payee up by Mi account number (10 digits) or phone number (11): the masked name to confirm. */
export async function lookUpPayee(phone: MiPhone, payee: string): Promise<PayeeFound> {
  const { platform, token } = context(phone);
  const body = /^1[3-9][0-9]{9}$/.test(payee) ? { phone: payee } : { mi_number: payee };
  const found = await platform.call<{ confirmation: string; payee: { name: string; account: string; mi_number: string }; expires_at: string }>({
    method: 'POST', path: '/v1/payee-lookups', token, body,
  });
  return { confirmation: found.confirmation, name: found.payee.name, account: found.payee.account,
    miNumber: found.payee.mi_number, expiresAt: found.expires_at };
}

/**
 * The verification fields of a payment of `amountFen` to `payee` (`mi:<number>` or
 * `order:<id>`): the password, or the fingerprint checked on the sensor and a statement bound to
 * this payment signed with the device key; with `certificate`, the certificate's signature too.
 */
async function verificationFields(phone: MiPhone, input: PaymentVerificationInput, amountFen: number,
  payee: string): Promise<Record<string, unknown>> {
  const { platform, token, deviceId } = context(phone);
  if (input.finger === undefined && input.paymentPassword === undefined) {
    throw new PhoneError('parameter_invalid',
      'Verify the payment with a fingerprint (--finger) or the payment password (--payment-password).', 'finger');
  }
  const fields: Record<string, unknown> = {};
  if (input.paymentPassword !== undefined) fields.payment_password = input.paymentPassword;
  if (input.smsCode !== undefined) fields.sms_code = input.smsCode;
  if (input.finger !== undefined) {
    phone.verifyFingerprint(input.finger);
    const challenge = await platform.call<{ nonce: string }>({ method: 'POST',
      path: `/v1/devices/${deviceId}/challenges`, token });
    const timestamp = phone.clock().toISOString();
    const message = ['mipay-payment-v1', deviceId, challenge.nonce, timestamp, 'fingerprint_verified',
      String(amountFen), payee].join('\n');
    const key = createPrivateKey({ key: Buffer.from(phone.state.deviceKey.privateKeyPkcs8, 'base64'), format: 'der',
      type: 'pkcs8' });
    fields.fingerprint = { device_id: deviceId, nonce: challenge.nonce, timestamp, signature: sign('sha256',
      Buffer.from(message), key).toString('base64') };
  }
  if (input.certificate) {
    const certificate = usableCertificate(phone);
    const challenge = await platform.call<{ nonce: string }>({ method: 'POST',
      path: `/v1/payment-certificates/${certificate.id}/challenges`, token });
    const timestamp = phone.clock().toISOString();
    const message = ['mipay-certificate-payment-v1', certificate.serialNumber, challenge.nonce, timestamp,
      String(amountFen), payee].join('\n');
    const key = createPrivateKey({ key: Buffer.from(certificate.privateKeyPkcs8, 'base64'), format: 'der',
      type: 'pkcs8' });
    fields.certificate = { certificate_id: certificate.id, nonce: challenge.nonce, timestamp, signature: sign('sha256',
      Buffer.from(message), key).toString('base64') };
  }
  return fields;
}

/**
 * Transfers to the payee of a confirmation (from `lookUpPayee`, after the user confirmed the
 * name), from the balance or funded by a bound card (`cardId`). Answers the transaction record.
 */
export async function transfer(phone: MiPhone, input: PaymentVerificationInput & {
  payee: PayeeFound; amountFen: number; cardId?: string | undefined; note?: string | undefined;
}): Promise<Record<string, any>> {
  const { platform, token } = context(phone);
  const verification = await verificationFields(phone, input, input.amountFen, `mi:${input.payee.miNumber}`);
  return platform.call({
    method: 'POST', path: '/v1/transfers', token, headers: { 'idempotency-key': randomUUID() },
    body: {
      payee_confirmation: input.payee.confirmation, amount_fen: input.amountFen, ...verification,
      ...(input.cardId ? { card_id: input.cardId } : {}), ...(input.note ? { note: input.note } : {}),
    },
  });
}

/** Pays a merchant order from the balance or a bound card (`cardId`). */
export async function payOrder(phone: MiPhone,
  input: PaymentVerificationInput & { orderId: string; cardId?: string | undefined }): Promise<Record<string, any>> {
  const { platform, token } = context(phone);
  const order = await platform.call<{ id: string; amount_fen: number }>({ method: 'GET',
    path: `/v1/orders/${encodeURIComponent(input.orderId)}`, token });
  const verification = await verificationFields(phone, input, order.amount_fen, `order:${order.id}`);
  return platform.call({
    method: 'POST', path: `/v1/orders/${encodeURIComponent(order.id)}/pay`, token, headers: { 'idempotency-key': randomUUID() },
    body: { ...verification, ...(input.cardId ? { card_id: input.cardId } : {}) },
  });
}

/** Asks the platform to text the account's phone a code (`payment` or `payment_certificate`). */
export async function requestSmsCode(phone: MiPhone, purpose: 'payment' | 'payment_certificate'): Promise<void> {
  const { platform, token } = context(phone);
  const accountPhone = phone.state.session!.accountPhone;
  await platform.call({ method: 'POST', path: '/v1/sms-codes', token, body: { phone: accountPhone, purpose } });
}

/**
 * Enrols a payment certificate: a new P-256 key pair made here (its private key stays in the
 * secure element), a CSR signed with it, the payment password and the SMS code; the platform CA
 * answers the certificate.
 */
export async function enrolCertificate(phone: MiPhone,
  input: { dailyLimitFen: number; paymentPassword: string; smsCode: string; validDays?: number | undefined }): Promise<StoredPaymentCertificate> {
  const { platform, token } = context(phone);
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  // Loaded only here: the other phone commands do not wait for the X.509 library.
  const { x509 } = await import('../infra/x509.ts');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${phone.state.device.hardwareId}`, signingAlgorithm: ecdsa,
    keys: {
      privateKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, ecdsa, false, ['sign']),
      publicKey: await webcrypto.subtle.importKey('spki', pair.publicKey.export({ format: 'der', type: 'spki' }),
        ecdsa, true, ['verify']),
    },
  });
  const issued = await platform.call<{ id: string; serial_number: string; not_after: string; daily_limit_fen: number }>({
    method: 'POST', path: '/v1/payment-certificates', token,
    body: {
      csr: csr.toString('pem'), daily_limit_fen: input.dailyLimitFen, payment_password: input.paymentPassword, sms_code: input.smsCode,
      ...(input.validDays ? { valid_days: input.validDays } : {}),
    },
  });
  const stored: StoredPaymentCertificate = {
    id: issued.id, serialNumber: issued.serial_number, notAfter: issued.not_after, dailyLimitFen: issued.daily_limit_fen, privateKeyPkcs8: pkcs8.toString('base64'),
  };
  const state = phone.mutableState;
  state.paymentCertificates = [...(state.paymentCertificates ?? []), stored];
  phone.save();
  return stored;
}

/** The account's certificates as the platform lists them. */
export async function listCertificates(phone: MiPhone): Promise<Array<Record<string, any>>> {
  const { platform, token } = context(phone);
  return (await platform.call<{ data: Array<Record<string, any>> }>({ method: 'GET', path: '/v1/payment-certificates',
    token })).data;
}

/** Revokes a certificate; when this phone holds its key, the key is wiped. */
export async function revokeCertificate(phone: MiPhone, id: string, reason: string): Promise<Record<string, any>> {
  const { platform, token } = context(phone);
  const revoked = await platform.call<Record<string, any>>({ method: 'POST',
    path: `/v1/payment-certificates/${encodeURIComponent(id)}/revoke`, token, body: { reason } });
  const state = phone.mutableState;
  for (const held of state.paymentCertificates ?? []) if (held.id === id) held.privateKeyPkcs8 = '';
  state.paymentCertificates = (state.paymentCertificates ?? []).filter((c) => c.id !== id);
  phone.save();
  return revoked;
}

/** The newest certificate this phone holds the key of and that has not expired. */
function usableCertificate(phone: MiPhone): StoredPaymentCertificate {
  const now = phone.clock().getTime();
  const held = (phone.state.paymentCertificates ?? []).filter((c) => new Date(c.notAfter).getTime() > now);
  const newest = held.at(-1);
  if (!newest) throw new PhoneError('no_certificate',
    'This phone holds no unexpired payment certificate: `mipay phone certificate enrol` first.', 'certificate');
  return newest;
}
