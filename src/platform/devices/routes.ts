import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors } from '../errors.ts';
import { biometricResults } from './device-key.ts';
import type { Device, DeviceService } from './service.ts';

export const deviceSchema = z.object({
  id: z.string(),
  device_id: z.string().describe('The phone\'s own device id'),
  model: z.string(),
  os_version: z.string(),
  nfc: z.boolean(),
  secure_element: z.boolean(),
  fingerprint_enrolled: z.boolean(),
  find_device_on: z.boolean(),
  fingerprint_payment: z.boolean().describe('Whether payments may be verified with a fingerprint on this phone (the payment password always remains)'),
  status: z.enum(['active', 'disabled', 'deleted']),
  registered_at: z.string(),
  disabled_at: z.string().nullable(),
});

export function deviceToWire(device: Device): z.infer<typeof deviceSchema> {
  return {
    id: device.id, device_id: device.hardware_id, model: device.model, os_version: device.os_version, nfc: device.nfc,
    secure_element: device.secure_element, fingerprint_enrolled: device.fingerprint_enrolled, find_device_on: device.find_device_on,
    fingerprint_payment: device.fingerprint_payment_enabled_at !== null, status: device.status, registered_at: device.registered_at.toISOString(), disabled_at: device.disabled_at?.toISOString() ?? null,
  };
}

export function registerDeviceRoutes(app: App, accounts: AccountService, devices: DeviceService, paymentAccounts: PaymentAccountService): void {
  const preHandler = requireSession(accounts);
  const security = [{ session: [] }];
  const tags = ['devices'];
  const params = z.object({ id: z.string().min(1).max(64) });

  app.post('/v1/devices', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Register a phone: eligible models and MIUI versions only; the phone\'s ECDSA P-256 public key signs its biometric results',
      description: 'Eligibility is data: models Mi 5, 5s, 5s Plus, Note 2, MIX, MIX 2, MIX 2s, MIX 3, Mi 6, Mi 8, Mi 9, Mi 9 '
        + 'SE, Note 3; MIUI stable 8.0.6.0 or later or developer 6.8.23 or later; NFC and a secure element. '
        + '`public_key` is the phone\'s own ECDSA P-256 key.',
      errors: [errors.device_not_eligible, errors.devices_per_user_limit, errors.device_already_registered,
        errors.device_public_key_invalid],
      body: z.object({
        device_id: z.string().min(1).max(128),
        model: z.string().min(1).max(64),
        os_version: z.string().min(1).max(64).describe('MIUI stable (8.0.6.0 or later) or developer (6.8.23 or later)'),
        nfc: z.boolean(),
        secure_element: z.boolean(),
        fingerprint_enrolled: z.boolean(),
        find_device_on: z.boolean(),
        public_key: z.string().min(1).max(4096).describe('ECDSA P-256 public key: SPKI DER in base64, or PEM'),
      }),
      response: { 201: deviceSchema },
    },
  }, async (request, reply) => {
    const b = request.body;
    const device = await devices.register({
      userId: caller(request).user.id, hardwareId: b.device_id, model: b.model, osVersion: b.os_version, nfc: b.nfc, secureElement: b.secure_element,
      fingerprintEnrolled: b.fingerprint_enrolled, findDeviceOn: b.find_device_on, publicKey: b.public_key,
      sessionId: caller(request).session.id,
    });
    void reply.code(201);
    return deviceToWire(device);
  });

  app.get('/v1/devices', {
    preHandler,
    schema: { security, tags, summary: 'The account\'s devices (active and disabled), newest first',
      description: 'Every device of the account that is not deleted, with its settings and status.',
      errors: [], response: { 200: z.object({ data: z.array(deviceSchema) }) } },
  }, async (request) => ({ data: (await devices.list(caller(request).user.id)).map(deviceToWire) }));

  app.get('/v1/devices/:id', {
    preHandler,
    schema: { security, tags, summary: 'One device',
      description: 'One of the account\'s devices by its id (`dev_…`).',
      errorParams: ['device_id'],
      errors: [errors.not_found], params, response: { 200: deviceSchema } },
  }, async (request) => deviceToWire(await devices.get(caller(request).user.id, request.params.id)));

  app.patch('/v1/devices/:id', {
    preHandler,
    schema: {
      security, tags, params,
      summary: 'The phone reports changed settings; turning find-device off deletes its bank device cards (transit cards stay)',
      description: 'Only the fields sent change. A MIUI version that is no longer eligible, or a fingerprint no longer '
        + 'enrolled, keeps the device registered but unable to add cards.',
      errorParams: ['device_id'],
      errors: [errors.not_found, errors.device_not_active, errors.device_not_eligible],
      body: z.object({ fingerprint_enrolled: z.boolean().optional(), find_device_on: z.boolean().optional(), os_version: z.string().min(1).max(64).optional() }),
      response: { 200: deviceSchema },
    },
  }, async (request) => deviceToWire(await devices.updateSettings(caller(request).user.id, request.params.id, {
    fingerprintEnrolled: request.body.fingerprint_enrolled, findDeviceOn: request.body.find_device_on, osVersion: request.body.os_version,
  })));

  app.post('/v1/devices/:id/disable', {
    preHandler,
    schema: { security, tags, params, summary: 'Report a device lost (user center): it is disabled and all its device cards suspended at once',
      description: 'From the user center when a phone is lost: the device is disabled and every device card on it suspended '
        + 'in the same transaction, so no tap is approved after the answer.',
      errorParams: ['device_id'],
      errors: [errors.not_found, errors.device_not_active], response: { 200: deviceSchema } },
  }, async (request) => deviceToWire(await devices.disable(caller(request).user.id, request.params.id)));

  app.post('/v1/devices/:id/enable', {
    preHandler,
    schema: {
      security, tags, params,
      summary: 'The lost device was found: with the account password, it is active again and the device cards its loss suspended resume',
      errorParams: ['device_id'],
      errors: [errors.not_found, errors.device_not_disabled, errors.password_wrong, errors.login_locked],
      description: 'Cards suspended for another reason (the bank reported the card lost, the user suspended it) stay suspended. Every limited-use key the device held is retired: it pays again after a sync brings new keys. A wrong password counts toward the login lock.',
      body: z.object({ password: z.string().min(1).max(128) }),
      response: { 200: deviceSchema },
    },
  }, async (request) => {
    const userId = caller(request).user.id;
    // Another account's or an unknown device is a 404 before any password is tried.
    await devices.get(userId, request.params.id);
    await accounts.confirmPassword(userId, request.body.password);
    return deviceToWire(await devices.enable(userId, request.params.id));
  });

  app.delete('/v1/devices/:id', {
    preHandler,
    schema: { security, tags, params, summary: 'Delete a device: every device card on it is deleted',
      description: 'The device and every device card on it are deleted (final).',
      errorParams: ['device_id'],
      errors: [errors.not_found], response: { 200: deviceSchema } },
  }, async (request) => deviceToWire(await devices.delete(caller(request).user.id, request.params.id)));

  app.post('/v1/devices/:id/challenges', {
    preHandler,
    schema: {
      security, tags, params, summary: 'A single-use nonce (valid 2 minutes) for the phone to sign with a biometric result',
      description: 'The phone signs the nonce with its device key after a fingerprint check and sends the statement to '
        + '`…/biometric-verifications`.',
      errorParams: ['device_id'],
      errors: [errors.not_found, errors.device_not_active, errors.device_not_ready],
      response: { 201: z.object({ nonce: z.string(), expires_at: z.string() }) },
    },
  }, async (request, reply) => {
    const challenge = await devices.createChallenge(caller(request).user.id, request.params.id);
    void reply.code(201);
    return { nonce: challenge.nonce, expires_at: challenge.expiresAt.toISOString() };
  });

  app.post('/v1/devices/:id/biometric-verifications', {
    preHandler,
    schema: {
      security, tags, params,
      summary: 'Check a biometric result the phone signed with its device key (the platform never sees a fingerprint)',
      errorParams: ['device_id'],
      errors: [errors.not_found, errors.device_not_active, errors.biometric_challenge_invalid,
        errors.biometric_statement_stale, errors.biometric_signature_invalid],
      description: 'The signed bytes are the lines `mipay-biometric-v1`, the device id (`dev_…`), the nonce, the timestamp and the result, '
        + 'joined with `\\n`; the signature is ECDSA P-256 with SHA-256, DER, base64. The timestamp must be within 5 minutes of the platform\'s clock.',
      body: z.object({
        nonce: z.string().min(1).max(64), timestamp: z.string().min(1).max(40), result: z.enum(biometricResults), signature: z.string().min(1).max(512),
      }),
      response: { 200: z.object({ verified: z.literal(true), result: z.string(), verified_at: z.string() }) },
    },
  }, async (request) => {
    const checked = await devices.verifyBiometric(caller(request).user.id, request.params.id, request.body);
    return { verified: true as const, result: request.body.result, verified_at: checked.verifiedAt.toISOString() };
  });

  app.put('/v1/devices/:id/fingerprint-payment', {
    preHandler,
    schema: {
      security, tags, params,
      summary: 'Turn fingerprint payment on (with the payment password) or off for this phone',
      description: 'With it on, a payment may carry `fingerprint` — the phone\'s statement, signed with its device key after a fingerprint check, '
        + 'bound to the payment — instead of the payment password, as one verification factor. Turning it off needs no password.',
      body: z.object({ enabled: z.boolean().describe('true turns fingerprint payment on, false off'), payment_password: z.string().max(32).optional().describe('Required to turn it on') }),
      response: { 200: deviceSchema },
      errorParams: ['device_id', 'fingerprint_enrolled', 'find_device_on'],
      errors: [errors.not_found, errors.device_not_active, errors.device_not_ready, errors.payment_account_not_found,
        errors.payment_password_wrong, errors.payment_password_locked],
    },
  }, async (request) => {
    const userId = caller(request).user.id;
    if (request.body.enabled) {
      await devices.requireReadyToPay(userId, request.params.id);
      if (request.body.payment_password === undefined) throw errors.parameter_invalid('Turning fingerprint payment on needs the payment password.', 'payment_password');
      await paymentAccounts.verifyPaymentPassword(userId, request.body.payment_password);
    }
    return deviceToWire(await devices.setFingerprintPayment(userId, request.params.id, request.body.enabled));
  });
}
