import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors, smsCodeErrors } from '../errors.ts';
import {
  certificateDailyLimitFenMax, certificateValidityDaysMax, revocationReasons, type PaymentCertificate, type PaymentCertificates,
} from './service.ts';

export const paymentCertificateSchema = z.object({
  id: z.string(),
  serial_number: z.string().describe('The certificate\'s serial number (hex), as the CA issued it'),
  subject: z.string().describe('The certificate\'s subject (CN = the holder\'s Mi account number)'),
  status: z.enum(['active', 'revoked', 'expired']).describe('`expired` once past `not_after`'),
  daily_limit_fen: z.number().describe('The daily limit the holder agreed for payments signed with this certificate'),
  not_before: z.string().describe('Valid from (ISO 8601, UTC)'),
  not_after: z.string().describe('Valid until (ISO 8601, UTC); payments signed after it are refused'),
  revoked_at: z.string().nullable().describe('When it was revoked, or null (ISO 8601, UTC)'),
  revocation_reason: z.string().nullable().describe('Why it was revoked, or null'),
  certificate_pem: z.string().describe('The X.509 certificate the platform CA issued'),
  created_at: z.string(),
});

function certificateToWire(row: PaymentCertificate, now: Date): z.infer<typeof paymentCertificateSchema> {
  return {
    id: row.id, serial_number: row.serial_number, subject: row.subject,
    status: row.status === 'active' && row.not_after <= now ? 'expired' : row.status, daily_limit_fen: Number(row.daily_limit_fen),
    not_before: row.not_before.toISOString(), not_after: row.not_after.toISOString(), revoked_at: row.revoked_at?.toISOString() ?? null,
    revocation_reason: row.revocation_reason, certificate_pem: row.certificate_pem, created_at: row.created_at.toISOString(),
  };
}

export function registerPaymentCertificateRoutes(app: App, accounts: AccountService, certificates: PaymentCertificates,
  clock: () => Date): void {
  const preHandler = requireSession(accounts);
  const security = [{ session: [] }];
  const tags = ['payment certificates'];
  const params = z.object({ id: z.string().min(1).max(64) });

  app.get('/v1/payment-certificates/ca', {
    schema: { tags, summary: 'The platform CA\'s certificate (PEM), which issues payment certificates',
      description: 'Public: anyone may check a payment certificate\'s chain against it.',
      errors: [],
      response: { 200: z.object({ certificate_pem: z.string().describe('The CA\'s X.509 certificate, PEM') }) } },
  }, async () => ({ certificate_pem: await certificates.caCertificatePem() }));

  app.post('/v1/payment-certificates', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Enrol a payment certificate: the phone\'s CSR, the payment password and an SMS code (purpose `payment_certificate`)',
      description: 'The key pair is made on the phone (ECDSA P-256) and never leaves it; the platform CA signs the CSR\'s key. '
        + 'Payments signed with the certificate plus one more factor use `daily_limit_fen` instead of the ¥5,000 two-factor daily limit. '
        + `At most 5 active certificates; the agreed limit is at most ¥${Number(certificateDailyLimitFenMax) / 100} a day.`,
      body: z.object({
        csr: z.string().min(1).max(8192)
          .describe('PKCS #10 certificate request, PEM or base64 DER, over an ECDSA P-256 key'),
        daily_limit_fen: z.number().int().positive().max(Number(certificateDailyLimitFenMax))
          .describe('The daily limit the holder agrees, in fen'),
        valid_days: z.number().int().min(1).max(certificateValidityDaysMax).default(certificateValidityDaysMax)
          .describe('Validity in days (default 365)'),
        payment_password: z.string().max(32),
        sms_code: z.string().regex(/^[0-9]{6}$/, '6 digits'),
      }),
      response: { 201: paymentCertificateSchema },
      errors: [errors.certificate_request_invalid, errors.payment_account_not_found, errors.payment_password_wrong,
        errors.payment_password_locked, ...smsCodeErrors, errors.payment_certificates_limit],
    },
  }, async (request, reply) => {
    const b = request.body;
    const row = await certificates.enrol(caller(request).user.id, {
      csr: b.csr, dailyLimitFen: BigInt(b.daily_limit_fen), validDays: b.valid_days, paymentPassword: b.payment_password, smsCode: b.sms_code,
    });
    void reply.code(201);
    return certificateToWire(row, clock());
  });

  app.get('/v1/payment-certificates', {
    preHandler,
    schema: { security, tags, summary: 'The account\'s payment certificates, newest first',
      description: 'At most 50, revoked and expired ones included (`status` says which).',
      errors: [],
      response: { 200: z.object({ data: z.array(paymentCertificateSchema) }) } },
  }, async (request) => ({ data: (await certificates.list(caller(request).user.id)).map((row) => certificateToWire(row,
    clock())) }));

  app.post('/v1/payment-certificates/:id/revoke', {
    preHandler,
    schema: {
      security, tags, params, summary: 'Revoke a payment certificate; payments signed with it are refused with the reason',
      description: 'From now on a payment signed with it is refused (`payment_certificate_revoked`, naming the reason). Revoking '
        + 'a revoked certificate answers it unchanged: the first reason stays.',
      errors: [errors.not_found],
      body: z.object({ reason: z.enum(revocationReasons).default('user_request') }),
      response: { 200: paymentCertificateSchema },
    },
  }, async (request) => certificateToWire(await certificates.revoke(caller(request).user.id, request.params.id,
    request.body.reason), clock()));

  app.post('/v1/payment-certificates/:id/challenges', {
    preHandler,
    schema: {
      security, tags, params,
      summary: 'A single-use nonce (valid 2 minutes) to sign a payment with this certificate',
      description: 'The signed bytes are the lines `mipay-certificate-payment-v1`, the serial number, the nonce, the timestamp (ISO 8601, '
        + 'within 5 minutes of the platform\'s clock), the amount in fen and the payee (`mi:<Mi account number>` or `order:<order id>`), '
        + 'joined with `\\n`; ECDSA P-256 with SHA-256, DER, base64.',
      errors: [errors.not_found, errors.payment_certificate_revoked, errors.payment_certificate_expired],
      response: { 201: z.object({ nonce: z.string(), expires_at: z.string() }) },
    },
  }, async (request, reply) => {
    const challenge = await certificates.createChallenge(caller(request).user.id, request.params.id);
    void reply.code(201);
    return { nonce: challenge.nonce, expires_at: challenge.expiresAt.toISOString() };
  });
}
