import { z } from 'zod';
import type { AccountService } from '../accounts/service.ts';
import type { App } from '../../infra/http/server.ts';
import { mobilePhone } from '../../infra/validation/phone.ts';
import { caller, requireSession } from '../auth.ts';
import { errors, bankCardErrors, smsCodeErrors } from '../errors.ts';
import { classRules, dailyLimitsFen } from './classes.ts';
import { maskName } from './identity.ts';
import type { PaymentAccountService, PaymentAccountView } from './service.ts';
import { platformRateLimits, type RateLimiter } from '../../infra/http/rate-limit.ts';

const smsCode = z.string().regex(/^[0-9]{6}$/, '6 digits');
const cardNumber = z.string().regex(/^[0-9]{13,19}$/, '13 to 19 digits').describe('Bank card number (PAN)');
const idNumber = z.string().trim().min(1).max(32).describe('18-character resident ID number (GB 11643)');
const idPhotoSizeMax = 2 * 1024 * 1024;

const verificationStarted = z.object({
  verification_id: z.string(),
  bank_name: z.string(),
  phone_masked: z.string(),
  expires_at: z.string(),
});

const paymentAccountSchema = z.object({
  id: z.string(),
  status: z.enum(['active', 'frozen', 'closed']),
  holder_name_masked: z.string(),
  id_number_masked: z.string(),
  class: z.enum(['I', 'II', 'III']).describe('The class whose limits apply now'),
  class_by_channels: z.enum(['I', 'II', 'III']).describe('The class the verification channels reach; II and III apply once the AML data is complete'),
  aml_complete: z.boolean(),
  channels: z.array(z.object({ channel: z.string(), bank_code: z.string(), bank_name: z.string(), card_kind: z.string(), card_last4: z.string(), verified_at: z.string() })),
  limits: z.object({
    balance_payments: z.object({ period: z.enum(['since_opening', 'calendar_year']), limit_fen: z.number() }),
    daily: z.object({ fewer_than_two_factors_fen: z.number(), two_factors_fen: z.number(), certificate_and_two_factors: z.literal('by_agreement') }),
    own_card_transfers_count: z.literal(false),
  }),
  payment_password: z.object({ locked_until: z.string().nullable() }),
  opened_at: z.string(),
});

function toWire(view: PaymentAccountView, now: Date): z.infer<typeof paymentAccountSchema> {
  const { account } = view;
  const rule = classRules[view.effectiveClass];
  const locked = account.password_locked_until && account.password_locked_until.getTime() > now.getTime() ? account.password_locked_until.toISOString() : null;
  return {
    id: account.id, status: account.status, holder_name_masked: maskName(account.holder_name), id_number_masked: account.id_number_masked,
    class: view.effectiveClass, class_by_channels: view.classByChannels ?? 'I', aml_complete: view.amlComplete,
    channels: view.channels.map((c) => ({ channel: c.channel, bank_code: c.bank_code, bank_name: c.bank_name, card_kind: c.card_kind, card_last4: c.card_last4, verified_at: c.verified_at.toISOString() })),
    limits: {
      balance_payments: { period: rule.balancePaymentsPeriod, limit_fen: Number(rule.balancePaymentsLimitFen) },
      daily: { fewer_than_two_factors_fen: Number(dailyLimitsFen.fewerThanTwoFactors), two_factors_fen: Number(dailyLimitsFen.twoFactors), certificate_and_two_factors: 'by_agreement' },
      own_card_transfers_count: false,
    },
    payment_password: { locked_until: locked },
    opened_at: account.opened_at.toISOString(),
  };
}

function startedToWire(started: { verificationId: string; bankName: string; phoneMasked: string; expiresAt: Date }) {
  return { verification_id: started.verificationId, bank_name: started.bankName, phone_masked: started.phoneMasked, expires_at: started.expiresAt.toISOString() };
}

export function registerPaymentAccountRoutes(app: App, accounts: AccountService, service: PaymentAccountService, clock: () => Date, limiter: RateLimiter): void {
  const preHandler = requireSession(accounts);
  const security = [{ session: [] }];
  const tags = ['payment account'];

  app.post('/v1/payment-account/applications', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Open a payment account, step 1: the bank verifies name, ID number, card and reserved phone and texts a code',
      errors: [errors.payment_account_exists, errors.identity_already_registered, errors.id_number_invalid,
        errors.applicant_under_18, errors.card_number_invalid, ...bankCardErrors],
      description: 'Applicants under 18 are refused before anything is sent to the bank, and nothing about them is kept.',
      body: z.object({ name: z.string().trim().min(1).max(64), id_number: idNumber, card_number: cardNumber, reserved_phone: mobilePhone }),
      response: { 201: verificationStarted },
    },
  }, async (request, reply) => {
    const b = request.body;
    const started = await service.apply({ userId: caller(request).user.id, name: b.name, idNumber: b.id_number, cardNumber: b.card_number, reservedPhone: b.reserved_phone });
    void reply.code(201);
    return startedToWire(started);
  });

  app.post('/v1/payment-account', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Open a payment account, step 2: the bank\'s SMS code and a 6-digit payment password',
      description: 'Opens the real-name payment account (Class I: one verification channel) with the verification of step 1, '
        + 'the code the bank texted and a 6-digit payment password (not one digit repeated, not a run like 123456). '
        + 'The card becomes a bound quick-pay card.',
      errors: [errors.payment_account_exists, errors.identity_already_registered, errors.verification_not_found,
        errors.payment_password_too_weak, ...smsCodeErrors, errors.bank_unavailable],
      body: z.object({ verification_id: z.string().min(1).max(64), sms_code: smsCode, payment_password: z.string().max(32) }),
      response: { 201: paymentAccountSchema },
    },
  }, async (request, reply) => {
    const userId = caller(request).user.id;
    await service.open({ userId, verificationId: request.body.verification_id, smsCode: request.body.sms_code, paymentPassword: request.body.payment_password });
    void reply.code(201);
    return toWire(await service.view(userId), clock());
  });

  app.get('/v1/payment-account', {
    preHandler,
    schema: { security, tags, summary: 'The payment account: class, channels, limits',
      description: 'The holder (masked), the class that applies and the one the channels reach, the verification channels, '
        + 'and the limits with what is used of them (PBOC Announcement [2015] No. 43).',
      errors: [errors.payment_account_not_found], response: { 200: paymentAccountSchema } },
  }, async (request) => toWire(await service.view(caller(request).user.id), clock()));

  app.post('/v1/payment-account/channels/applications', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Upgrade, step 1: verify a card of another bank in the holder\'s name (one more verification channel)',
      description: 'A card of another bank in the holder\'s name counts as one more external verification channel once its '
        + 'bank has checked the four elements and the holder has confirmed its code (step 2).',
      errorParams: ['name'],
      errors: [errors.payment_account_not_found, errors.channel_already_verified, errors.card_number_invalid,
        ...bankCardErrors],
      body: z.object({ card_number: cardNumber, reserved_phone: mobilePhone }),
      response: { 201: verificationStarted },
    },
  }, async (request, reply) => {
    const started = await service.applyChannel({ userId: caller(request).user.id, cardNumber: request.body.card_number, reservedPhone: request.body.reserved_phone });
    void reply.code(201);
    return startedToWire(started);
  });

  app.post('/v1/payment-account/channels', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Upgrade, step 2: confirm with the bank\'s SMS code; 3 channels reach Class II, 5 Class III',
      description: 'Confirms the channel with the bank\'s code; the card is bound for quick pay too. The class rises with '
        + 'the channels (3: Class II, 5: Class III) once the AML data is complete.',
      errors: [errors.payment_account_not_found, errors.verification_not_found, errors.channel_already_verified,
        ...smsCodeErrors, errors.bank_unavailable],
      body: z.object({ verification_id: z.string().min(1).max(64), sms_code: smsCode }),
      response: { 201: paymentAccountSchema },
    },
  }, async (request, reply) => {
    const view = await service.addChannel({ userId: caller(request).user.id, verificationId: request.body.verification_id, smsCode: request.body.sms_code });
    void reply.code(201);
    return toWire(view, clock());
  });

  app.put('/v1/payment-account/aml', {
    preHandler,
    bodyLimit: Math.ceil(idPhotoSizeMax * 1.4) + 4096,
    schema: {
      security, tags,
      summary: 'Record the AML supplementary data (needed before Class II/III limits apply)',
      description: 'Gender (must match the ID number), occupation, nationality, ID type and expiry (not past), an ID photo '
        + '(JPEG or PNG, at most 2 MiB) and an address. The photo and the address are stored sealed (AES-256-GCM).',
      errors: [errors.payment_account_not_found],
      body: z.object({
        gender: z.enum(['male', 'female']),
        occupation: z.string().trim().min(1).max(64),
        nationality: z.string().regex(/^[A-Z]{3}$/, 'an ISO 3166-1 alpha-3 code, e.g. CHN'),
        id_type: z.literal('resident_id'),
        id_expiry: z.union([z.literal('long_term'), z.iso.date()]).describe('YYYY-MM-DD, or long_term (长期)'),
        id_photo: z.object({
          content_type: z.enum(['image/jpeg', 'image/png']),
          data_base64: z.base64().max(Math.ceil(idPhotoSizeMax * 4 / 3) + 4),
        }),
        address: z.string().trim().min(4).max(256),
      }),
      response: { 200: paymentAccountSchema },
    },
  }, async (request) => {
    const b = request.body;
    const photo = Buffer.from(b.id_photo.data_base64, 'base64');
    const looksRight = b.id_photo.content_type === 'image/png'
      ? photo.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex'))
      : photo.subarray(0, 3).equals(Buffer.from('ffd8ff', 'hex'));
    if (!looksRight) throw errors.parameter_invalid(`The ID photo is not a ${b.id_photo.content_type} image.`, 'id_photo.data_base64');
    const view = await service.setAmlData(caller(request).user.id, {
      gender: b.gender, occupation: b.occupation, nationality: b.nationality, idType: b.id_type, idExpiry: b.id_expiry,
      idPhoto: { contentType: b.id_photo.content_type, data: photo }, address: b.address,
    });
    return toWire(view, clock());
  });

  app.post('/v1/payment-account/password/verify', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Check the payment password (5 wrong tries lock payment for 3 hours)',
      description: 'Answers whether the password is right. Five wrong tries in a row lock payment for 3 hours; during the '
        + 'lock every try is refused without being counted.',
      errors: [errors.payment_account_not_found, errors.payment_password_wrong, errors.payment_password_locked],
      body: z.object({ payment_password: z.string().max(32) }),
      response: { 200: z.object({ verified: z.literal(true) }) },
    },
  }, async (request) => {
    await service.verifyPaymentPassword(caller(request).user.id, request.body.payment_password);
    return { verified: true as const };
  });

  app.post('/v1/payment-account/password/reset', {
    onRequest: limiter.hook(platformRateLimits.passwordReset),
    preHandler,
    schema: {
      security, tags,
      summary: 'Reset the payment password with an SMS code (purpose payment_password_reset) and the holder\'s ID number',
      description: 'The code and the ID number are checked together: if either is wrong the answer is one `password_reset_failed`, '
        + 'the code is spent if it was right, and the failure counts; 5 failures lock resetting for 24 hours (`password_reset_locked`).',
      errors: [errors.payment_account_not_found, errors.password_reset_failed, errors.password_reset_locked,
        errors.payment_password_too_weak, ...smsCodeErrors, errors.rate_limited],
      body: z.object({ sms_code: smsCode, id_number: idNumber, new_payment_password: z.string().max(32) }),
      response: { 200: z.object({ reset: z.literal(true) }) },
    },
  }, async (request) => {
    const { user } = caller(request);
    await service.resetPaymentPassword({ userId: user.id, phone: user.phone, smsCode: request.body.sms_code, idNumber: request.body.id_number, newPassword: request.body.new_payment_password });
    return { reset: true as const };
  });
}
