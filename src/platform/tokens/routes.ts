import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticationHook, type App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { keepRawBody, signedRequestOf } from '../devices/signed-request.ts';
import { errors, bankCardErrors, smsCodeErrors } from '../errors.ts';
import type { DeviceCard } from './lifecycle.ts';
import { lukBatchSizeMax, type IssuedLukBatch, type TokenService } from './service.ts';

export const deviceCardSchema = z.object({
  id: z.string(),
  device_id: z.string(),
  card_id: z.string().describe('The bound card it was made from'),
  kind: z.enum(['bank', 'transit']),
  bank_code: z.string(),
  bank_name: z.string(),
  card_kind: z.string(),
  token_masked: z.string().describe('The device card number, first 6 / last 4: what POS receipts show'),
  token_last4: z.string(),
  pan_masked: z.string().describe('The physical card\'s number, first 6 / last 4'),
  status: z.enum(['inactive', 'active', 'suspended', 'deleted']),
  status_reason: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

const lukBatchSchema = z.object({
  id: z.string(),
  atc_first: z.number().int(),
  key_count: z.number().int(),
  expires_at: z.string(),
  algorithm: z.string(),
  sealed_keys: z.object({
    scheme: z.literal('ecdh-p256-hkdf-sha256-aes-256-gcm').describe('How the keys are sealed (the only scheme)'),
    ephemeral_public_key: z.string().describe('The ephemeral P-256 public key, SPKI DER base64'),
    iv: z.string().describe('AES-GCM IV, base64'), ciphertext: z.string().describe('The sealed keys, base64'),
    tag: z.string().describe('AES-GCM authentication tag, base64'),
  }).describe('The keys, sealed to the device\'s own P-256 key: ECDH(ephemeral, device key) → HKDF-SHA256 '
    + '(salt = ephemeral SPKI ‖ device SPKI, info = "mipay-sealed-for-device-v1\\n" ‖ AAD) → AES-256-GCM with '
    + 'AAD = "mipay-luk-batch-v1\\n<device card id>\\n<batch id>". Plaintext: JSON {"keys":[{"atc":1,"key":"<hex>"}]}, '
    + 'one limited-use key per ATC; sent once, never stored by the platform'),
});

/** The header the routes that mint limited-use keys require (src/protocols/crypto/device-request.ts). */
const deviceSignatureHeaders = z.object({
  'mipay-device-signature': z.string().max(400).optional().describe(
    'Required. `t=<ISO 8601 time>,n=<nonce, 16-64 base64url>,s=<ECDSA P-256 SHA-256 DER signature, base64>` by the key of the '
    + 'device that owns the device card, over the lines `mipay-device-request-v1`, the device id (dev_…), the method, the path '
    + 'with query, t, n and the hex SHA-256 of the exact body bytes, joined with \\n. Single-use; t within 5 minutes.',
  ),
});

export function deviceCardToWire(card: DeviceCard): z.infer<typeof deviceCardSchema> {
  return {
    id: card.id, device_id: card.device_id, card_id: card.bound_card_id, kind: card.kind, bank_code: card.bank_code, bank_name: card.bank_name,
    card_kind: card.card_kind, token_masked: card.token_masked,
    token_last4: card.token_last4, pan_masked: card.pan_masked, status: card.status, status_reason: card.status_reason,
    created_at: card.created_at.toISOString(), updated_at: card.updated_at.toISOString(),
  };
}

function batchToWire(issued: IssuedLukBatch): z.infer<typeof lukBatchSchema> {
  return {
    id: issued.id, atc_first: issued.atcFirst, key_count: issued.keyCount, expires_at: issued.expiresAt,
    algorithm: issued.algorithm, sealed_keys: issued.sealedKeys,
  };
}

/** Admits a bank by its platform key (`Authorization: Bearer <key>`); answers its bank code. */
function bankAuthentication(bankKeys: Readonly<Record<string, string>>) {
  const keys = Object.entries(bankKeys).map(([code, key]) => ({ code, key: Buffer.from(key) }));
  return authenticationHook(async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7).trim() : '');
    const bank = keys.find((k) => k.key.length === given.length && timingSafeEqual(k.key, given));
    if (!bank) throw errors.authentication_required('A bank key is required: Authorization: Bearer <key>.');
    (request as FastifyRequest & { bankCode?: string }).bankCode = bank.code;
  });
}

export function registerTokenRoutes(app: App, accounts: AccountService, tokens: TokenService, options: { bankKeys: Readonly<Record<string, string>> }): void {
  const preHandler = requireSession(accounts);
  const security = [{ session: [] }];
  const tags = ['device cards'];
  const params = z.object({ id: z.string().min(1).max(64) });
  const target = { device_id: z.string().min(1).max(64), card_id: z.string().min(1).max(64) };

  app.post('/v1/device-cards/applications', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Add a bound card to a device, step 1: eligibility and limits, then the bank texts a code to the card\'s reserved phone (ID&V)',
      errorParams: ['fingerprint_enrolled', 'find_device_on'],
      errors: [errors.not_found, errors.device_not_active, errors.device_not_ready,
        errors.biometric_verification_required, errors.card_brand_not_supported, errors.card_kind_not_supported,
        errors.device_card_exists, errors.device_cards_per_device_limit, errors.card_devices_limit,
        ...bankCardErrors],
      description: 'Online only: provisioning and key replenishment are API calls to the platform, which calls the bank. '
        + '`biometric_nonce` is the nonce of a challenge of this device whose signed fingerprint statement verified '
        + '(`POST /v1/devices/{id}/biometric-verifications`) in the last 5 minutes; each verification adds one card.',
      body: z.object({ ...target, biometric_nonce: z.string().min(1).max(64) }),
      response: { 201: z.object({ verification_id: z.string(), bank_name: z.string(), phone_masked: z.string(), expires_at: z.string() }) },
    },
  }, async (request, reply) => {
    const started = await tokens.apply({ userId: caller(request).user.id, deviceId: request.body.device_id, cardId: request.body.card_id, biometricNonce: request.body.biometric_nonce });
    void reply.code(201);
    return { verification_id: started.verificationId, bank_name: started.bankName, phone_masked: started.phoneMasked, expires_at: started.expiresAt.toISOString() };
  });

  app.post('/v1/device-cards', {
    preHandler, preParsing: keepRawBody,
    schema: {
      security, tags,
      summary: 'Add a bound card to a device, step 2: the bank\'s SMS code; answers the active device card and its first limited-use keys',
      description: 'Signed by the device key of `device_id` (header `Mipay-Device-Signature`); the keys come sealed to that key.',
      headers: deviceSignatureHeaders,
      errors: [errors.not_found, errors.verification_not_found, errors.device_not_active, errors.device_card_exists, errors.token_service_unavailable,
        errors.device_cards_per_device_limit, errors.card_devices_limit, ...smsCodeErrors,
        errors.bank_unavailable, errors.device_signature_required, errors.device_signature_invalid, errors.device_signature_replayed],
      body: z.object({ ...target, verification_id: z.string().min(1).max(64), sms_code: z.string().regex(/^[0-9]{6}$/, '6 digits') }),
      response: { 201: z.object({ device_card: deviceCardSchema, token_number: z.string().describe('The full device card number, for the phone\'s secure element'), token_expiry: z.string(), token_sequence: z.string(), key_check_value: z.string(), luk_batch: lukBatchSchema }) },
    },
  }, async (request, reply) => {
    const b = request.body;
    const made = await tokens.provision({
      userId: caller(request).user.id, deviceId: b.device_id, cardId: b.card_id, verificationId: b.verification_id, smsCode: b.sms_code,
      signed: signedRequestOf(request),
    });
    void reply.code(201);
    return {
      device_card: deviceCardToWire(made.card), token_number: made.token.tokenNumber, token_expiry: made.token.tokenExpiryYymm,
      token_sequence: made.token.tokenSequence, key_check_value: made.token.keyCheckValue, luk_batch: batchToWire(made.token.batch),
    };
  });

  app.get('/v1/device-cards', {
    preHandler,
    schema: {
      security, tags, summary: 'The account\'s device cards that are not deleted, newest first',
      description: 'Optionally of one device (`device_id`): what the phone\'s sync compares with its secure element, with '
        + 'the key batches still live.',
      errors: [errors.token_service_unavailable],
      querystring: z.object({ device_id: z.string().min(1).max(64).optional() }),
      response: {
        200: z.object({
          data: z.array(deviceCardSchema.extend({
            live_key_batches: z.array(z.string()).describe('Ids of the limited-use key batches the TSP still accepts (unexpired, not superseded): a phone drops keys of any other batch'),
          })),
        }),
      },
    },
  }, async (request) => {
    const cards = await tokens.list(caller(request).user.id, request.query.device_id);
    const live = await tokens.liveKeyBatches(cards);
    return { data: cards.map((card) => ({ ...deviceCardToWire(card), live_key_batches: live.get(card.id) ?? [] })) };
  });

  app.get('/v1/device-cards/:id', {
    preHandler,
    schema: { security, tags, params, summary: 'One device card',
      description: 'One device card by its id (`dc_…`); never its token or card number in full.',
      errors: [errors.not_found], response: { 200: deviceCardSchema } },
  }, async (request) => deviceCardToWire(await tokens.get(caller(request).user.id, request.params.id)));

  app.get('/v1/device-cards/:id/events', {
    preHandler,
    schema: {
      security, tags, params, summary: 'Every lifecycle change of a device card, with its reason and who asked',
      description: 'Oldest first: each change of status with the reason and the actor (user, device lost, bank, account '
        + 'logout, card replaced).',
      errors: [errors.not_found],
      response: { 200: z.object({ data: z.array(z.object({ from_status: z.string().nullable(), to_status: z.string(), reason: z.string(), actor: z.string(), created_at: z.string() })) }) },
    },
  }, async (request) => ({
    data: (await tokens.events(caller(request).user.id, request.params.id)).map((e) => ({
      from_status: e.from_status, to_status: e.to_status, reason: e.reason, actor: e.actor, created_at: e.created_at.toISOString(),
    })),
  }));

  for (const [action, to, summary, description] of [
    ['suspend', 'suspended', 'Suspend a device card',
      'No tap with it is approved until it is resumed; it can still take back a refund. Recorded with the user as actor.'],
    ['resume', 'active', 'Resume a suspended device card (its device must be active)',
      'Active again: taps with it are approved again. Recorded with the user as actor.'],
  ] as const) {
    app.post(`/v1/device-cards/:id/${action}`, {
      preHandler,
      schema: {
        security, tags, params, summary, description, response: { 200: deviceCardSchema },
        errors: [errors.not_found, errors.device_card_transition_invalid, errors.device_not_active],
        errorParams: ['status', 'device_id'],
      },
    }, async (request) => deviceCardToWire(await tokens.changeByUser(caller(request).user.id, request.params.id, to)));
  }

  app.delete('/v1/device-cards/:id', {
    preHandler,
    schema: { security, tags, params, summary: 'Delete a device card (final)',
      description: 'The device card is deleted (final): no tap with it is approved after the answer, and the phone wipes it '
        + 'at its next sync.',
      errorParams: ['status', 'device_id'],
      errors: [errors.not_found, errors.device_card_transition_invalid], response: { 200: deviceCardSchema } },
  }, async (request) => deviceCardToWire(await tokens.changeByUser(caller(request).user.id, request.params.id, 'deleted')));

  app.post('/v1/device-cards/:id/key-batches', {
    preHandler, preParsing: keepRawBody,
    schema: {
      security, tags, params, summary: 'Replenish limited-use keys (the phone is online): a new batch of keys with an expiry',
      description: 'Signed by the key of the device that owns the card (header `Mipay-Device-Signature`); the keys come sealed to that key. '
        + 'At most 5 unexpired batches with unspent keys per device card (429 rate_limited past that). A batch whose every ATC has been seen in an authorization is superseded when the next one is issued.',
      headers: deviceSignatureHeaders,
      errorParams: ['status', 'device_id', 'mipay-device-signature'],
      errors: [errors.not_found, errors.device_not_active, errors.device_card_transition_invalid, errors.rate_limited, errors.token_service_unavailable,
        errors.device_signature_required, errors.device_signature_invalid, errors.device_signature_replayed],
      body: z.object({ count: z.number().int().min(1).max(lukBatchSizeMax).optional() }),
      response: { 201: lukBatchSchema },
    },
  }, async (request, reply) => {
    const userId = caller(request).user.id;
    const issued = await tokens.replenish({ userId, deviceCardId: request.params.id, count: request.body.count, signed: signedRequestOf(request) });
    void reply.code(201);
    return batchToWire(issued);
  });

  app.post('/v1/bank/device-cards/actions', {
    preHandler: bankAuthentication(options.bankKeys),
    schema: {
      tags: ['banks'], security: [{ bank_key: [] }],
      summary: 'For issuing banks: suspend, resume or delete every device card of a card number (card lost, found, replaced, closed)',
      errors: [errors.token_service_unavailable],
      description: 'Authenticated with the bank\'s platform key. Relayed to UnionPay\'s token service, which alone maps a card '
        + 'number to its tokens and tells the platform of each one it changes. Only device cards of the calling bank are '
        + 'touched; the answer never contains the card number.',
      body: z.object({
        pan: z.string().regex(/^[0-9]{13,19}$/, '13 to 19 digits'),
        action: z.enum(['suspend', 'resume', 'delete']),
        reason: z.enum(['card_lost', 'card_found', 'card_replaced', 'card_closed']),
      }),
      response: { 200: z.object({ affected: z.number().int(), device_cards: z.array(z.object({ id: z.string(), token_last4: z.string(), status: z.string() })) }) },
    },
  }, async (request) => {
    const bankCode = (request as FastifyRequest & { bankCode?: string }).bankCode!;
    const changed = await tokens.changeByBank({ bankCode, pan: request.body.pan, action: request.body.action, reason: request.body.reason });
    return { affected: changed.length, device_cards: changed.map((c) => ({ id: c.id, token_last4: c.token_last4, status: c.status })) };
  });
}
