import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { RateLimiter } from '../../infra/http/rate-limit.ts';
import type { App } from '../../infra/http/server.ts';
import { mobilePhone } from '../../infra/validation/phone.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors } from '../errors.ts';
import { riskContextOf } from './context.ts';
import type { IdentityCase, IdentityCases } from './identity-cases.ts';
import { identityImageLimits } from './images.ts';
import { verifyVoucher, voucherPublicKeyPem } from './voucher.ts';

// Three photos of at most 4 MB, in base64 (4/3 larger), and the rest of the body.
const uploadBodyBytesMax = 3 * Math.ceil((identityImageLimits.bytesMax * 4) / 3) + 64 * 1024;
const photo = (what: string) => z.string().min(1).max(Math.ceil((identityImageLimits.bytesMax * 4) / 3) + 4)
  .describe(`${what}: a PNG or JPEG, base64, at most 4 MB, 300–8000 pixels a side`);
const documentsSchema = z.object({
  id_front: photo('The ID card\'s portrait side'), id_back: photo('The ID card\'s national-emblem side'),
  holding_id: photo('A photo of the holder holding the ID card'),
});

export const identityCaseSchema = z.object({
  id: z.string().describe('The case id (idc_…)'),
  type: z.enum(['password_recovery', 'unfreeze', 'voucher']).describe('What the case is for'),
  status: z.enum(['pending_review', 'approved', 'rejected']).describe('Waiting for a reviewer, or decided'),
  decision_reason: z.string().nullable().describe('The reviewer\'s reason, once decided'),
  voucher_id: z.string().nullable().describe('For an approved voucher case: the voucher to download'),
  created_at: z.string().describe('When the case was opened'),
  decided_at: z.string().nullable().describe('When a reviewer decided it'),
});

export function identityCaseToWire(c: IdentityCase): z.infer<typeof identityCaseSchema> {
  const result = c.result ? JSON.parse(c.result) as { voucher_id?: string } : {};
  return {
    id: c.id, type: c.type, status: c.status, decision_reason: c.decision_reason, voucher_id: result.voucher_id ?? null,
    created_at: c.created_at.toISOString(), decided_at: c.decided_at?.toISOString() ?? null,
  };
}

export interface IdentityRouteDeps {
  accounts: AccountService;
  cases: IdentityCases;
  voucherKey: KeyObject;
  limiter: RateLimiter;
}

/** The user's side of identity proof: password recovery, report lost and unfreeze, vouchers; and checking any voucher. */
export function registerIdentityRoutes(app: App, deps: IdentityRouteDeps): void {
  const session = requireSession(deps.accounts);
  const security = [{ session: [] }];
  const tags = ['identity'];
  const publicKeyPem = voucherPublicKeyPem(deps.voucherKey);
  const perClient = (name: string) => deps.limiter.hook({ name, perIp: { max: 10, windowMs: 600_000 }, perSubnet: { max: 20, windowMs: 600_000 } });

  app.post('/v1/password-recoveries/codes', {
    onRequest: perClient('password-recovery-code'),
    schema: {
      tags, summary: 'Recover the login password, step 1: a code texted to the account\'s phone',
      description: 'Answered alike for every phone (202), so it does not tell which phones have an account; only a registered phone gets a text.',
      errors: [errors.rate_limited],
      body: z.object({ phone: mobilePhone.describe('The Mi account\'s phone') }),
      response: { 202: z.object({ phone: z.string().describe('The phone as given') }) },
    },
  }, async (request, reply) => {
    await deps.cases.sendRecoveryCode(request.body.phone);
    void reply.code(202);
    return { phone: request.body.phone };
  });

  app.post('/v1/password-recoveries', {
    onRequest: perClient('password-recovery'),
    bodyLimit: uploadBodyBytesMax,
    schema: {
      tags, summary: 'Recover the login password, step 2: the code, the payment account holder\'s ID number and the new password',
      description: 'Needs a payment account (its holder\'s ID number is what is checked). Usually done at once (200, every session '
        + 'revoked). From a device or region the account was not used from, photos of the ID card are needed too (`documents`; '
        + 'without them 403 `risk_review_required`) and a reviewer decides (202, a case to follow).',
      errors: [errors.password_too_weak, errors.password_recovery_failed, errors.risk_review_required, errors.identity_image_invalid,
        errors.identity_case_open, errors.rate_limited],
      body: z.object({
        phone: mobilePhone.describe('The Mi account\'s phone'), sms_code: z.string().regex(/^[0-9]{6}$/, '6 digits').describe('The code from step 1'),
        id_number: z.string().min(15).max(18).describe('The payment account holder\'s resident ID number'),
        new_password: z.string().min(1).max(128).describe('The new login password: 8–64 characters, a letter and a digit'),
        documents: documentsSchema.optional().describe('ID photos, needed when the recovery looks unusual'),
      }),
      response: {
        200: z.object({ status: z.literal('completed').describe('The password was changed') }),
        202: z.object({ status: z.literal('pending_review').describe('A reviewer decides'), case_id: z.string().describe('The case to follow') }),
      },
    },
  }, async (request, reply) => {
    const b = request.body;
    const outcome = await deps.cases.recoverPassword({
      phone: b.phone, smsCode: b.sms_code, idNumber: b.id_number.toUpperCase(), newPassword: b.new_password, documents: b.documents,
      context: riskContextOf(request),
    });
    if (outcome.status === 'completed') return { status: 'completed' as const };
    void reply.code(202);
    return { status: 'pending_review' as const, case_id: outcome.caseId };
  });

  app.post('/v1/payment-account/report-lost', {
    preHandler: session,
    schema: {
      security, tags, summary: 'Report the payment account lost, or freeze its funds: frozen at once',
      description: 'Nothing can be paid, transferred or withdrawn from a frozen account. To unfreeze it, open an `unfreeze` identity case.',
      errors: [errors.payment_account_not_found],
      body: z.object({ reason: z.enum(['lost', 'freeze_funds']).describe('`lost`: the phone or the account was lost or stolen; `freeze_funds`: freeze for another reason') }),
      response: { 200: z.object({ status: z.literal('frozen').describe('The payment account is frozen') }) },
    },
  }, async (request) => deps.cases.reportLost(caller(request).user.id, request.body.reason, riskContextOf(request)));

  app.post('/v1/identity-cases', {
    preHandler: session,
    bodyLimit: uploadBodyBytesMax,
    schema: {
      security, tags, summary: 'Ask for an operation that needs identity proof: unfreeze the payment account, or an electronic voucher',
      description: 'With photos of both sides of the ID card and one holding it (PNG or JPEG, checked by their bytes, stored encrypted and '
        + 'deleted 180 days after the decision). A risk reviewer approves (the operation is carried out) or rejects with a reason.',
      errors: [errors.identity_image_invalid, errors.identity_case_open, errors.payment_account_not_found, errors.account_not_frozen, errors.not_found],
      body: z.object({
        type: z.enum(['unfreeze', 'voucher']).describe('`unfreeze` a frozen payment account, or a `voucher` for one transaction'),
        transaction_id: z.string().min(1).max(64).optional().describe('For a voucher: the transaction (txn_…)'),
        documents: documentsSchema.describe('The ID photos'),
      }).refine((b) => b.type !== 'voucher' || b.transaction_id !== undefined, { message: 'a voucher names its transaction', path: ['transaction_id'] }),
      response: { 201: identityCaseSchema },
    },
  }, async (request, reply) => {
    const b = request.body;
    const opened = await deps.cases.open(caller(request).user.id, b.type === 'voucher' ? { type: 'voucher', transactionId: b.transaction_id! } : { type: 'unfreeze' },
      b.documents, riskContextOf(request));
    void reply.code(201);
    return identityCaseToWire(opened);
  });

  app.get('/v1/identity-cases/:id', {
    preHandler: session,
    schema: {
      security, tags, summary: 'One identity case of the account', description: 'Its status, and the reviewer\'s reason once decided.',
      errors: [errors.not_found], errorParams: ['case_id'], params: z.object({ id: z.string().min(1).max(64).describe('The case id') }),
      response: { 200: identityCaseSchema },
    },
  }, async (request) => identityCaseToWire(await deps.cases.get(caller(request).user.id, request.params.id)));

  app.get('/v1/vouchers/:id', {
    preHandler: session,
    schema: {
      security, tags, summary: 'An electronic transaction voucher: the PDF and its detached signature',
      description: 'The signature is ECDSA P-256 with SHA-256 (DER, base64) over the PDF\'s bytes exactly as given here.',
      errors: [errors.not_found], errorParams: ['voucher_id'], params: z.object({ id: z.string().min(1).max(64).describe('The voucher id (vch_…)') }),
      response: {
        200: z.object({
          id: z.string().describe('The voucher id'), transaction_id: z.string().describe('The transaction it is for'),
          pdf_base64: z.string().describe('The PDF, base64'), signature: z.string().describe('The detached signature, DER base64'),
          created_at: z.string().describe('When it was issued'),
        }),
      },
    },
  }, async (request) => {
    const v = await deps.cases.voucherOf(caller(request).user.id, request.params.id);
    return {
      id: v.id, transaction_id: v.transaction_id, pdf_base64: Buffer.from(v.pdf).toString('base64'), signature: v.signature,
      created_at: v.created_at.toISOString(),
    };
  });

  app.get('/v1/vouchers/public-key', {
    schema: {
      tags, summary: 'The platform\'s voucher public key (PEM)', description: 'ECDSA P-256; checks any voucher\'s signature.', errors: [],
      response: { 200: z.object({ public_key_pem: z.string().describe('SPKI, PEM'), algorithm: z.literal('ECDSA-P256-SHA256').describe('The signature scheme') }) },
    },
  }, async () => ({ public_key_pem: publicKeyPem, algorithm: 'ECDSA-P256-SHA256' as const }));

  app.post('/v1/vouchers/verify', {
    bodyLimit: 4 * 1024 * 1024,
    schema: {
      tags, summary: 'Check a voucher PDF against its detached signature', description: 'Anyone may ask; `valid` is false for any changed byte.',
      errors: [],
      body: z.object({
        pdf_base64: z.string().min(1).max(4 * 1024 * 1024).describe('The PDF, base64'),
        signature: z.string().min(1).max(512).describe('The detached signature, DER base64'),
      }),
      response: { 200: z.object({ valid: z.boolean().describe('Whether the signature is the platform\'s over these bytes') }) },
    },
  }, async (request) => ({ valid: verifyVoucher(publicKeyPem, Buffer.from(request.body.pdf_base64, 'base64'), request.body.signature) }));
}
