import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import { mobilePhone } from '../../infra/validation/phone.ts';
import type { AccountService } from '../accounts/service.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import { caller, requireSession } from '../auth.ts';
import { errors, smsCodeErrors } from '../errors.ts';
import { devicePermissions, featurePermissions, type ConsentService, type Feature } from './consents.ts';
import type { Deregistration } from './deregistration.ts';
import type { DataExport, DataExports } from './exports.ts';
import type { ProfileCorrections } from './profile.ts';
import { refusalReasons, requestKinds, type PrivacyRequest, type PrivacyRequests } from './requests.ts';

const tags = ['privacy'];
const smsCode = z.string().regex(/^[0-9]{6}$/, '6 digits');

const purposeSchema = z.object({
  code: z.string().describe('The purpose\'s code'),
  required: z.boolean().describe('Whether the service needs it (accepted with the policy) or it is optional (off until consented)'),
  description: z.string().describe('What the data is used for, and the policy clause'),
});
const policySchema = z.object({
  version: z.string().describe('MAJOR.MINOR; a new major version asks acceptance again at the next login'),
  effective_at: z.string().describe('When the version took effect'),
  text_location: z.string().describe('Where the policy text is'),
  major: z.boolean().describe('Whether this version is a major change'),
  purposes: z.array(purposeSchema).describe('The purposes the version lists'),
});
const requestSchema = z.object({
  id: z.string().describe('The request id (prq_…)'),
  kind: z.enum(requestKinds).describe('The right exercised'),
  details: z.string().describe('What the user asked'),
  status: z.enum(['received', 'completed', 'refused']).describe('Where the request stands'),
  received_at: z.string().describe('When it was received'),
  due_date: z.string().describe('The last day (China) of the 15 working days for the answer'),
  due_at: z.string().describe('The end of that day as an instant'),
  calendar_covered: z.boolean().describe('False when the holiday calendar did not cover every day counted (recomputed when it does)'),
  overdue: z.boolean().describe('Still open past its deadline'),
  answered_at: z.string().nullable().describe('When it was answered'),
  answer: z.string().nullable().describe('The answer'),
  refusal_reason: z.enum(Object.keys(refusalReasons) as [keyof typeof refusalReasons]).nullable().describe('For a refusal: one of the policy\'s reasons'),
});
const exportSchema = z.object({
  id: z.string().describe('The export id (exp_…)'),
  status: z.enum(['pending', 'ready', 'downloaded', 'expired']).describe('pending: being prepared; ready/downloaded: downloadable until expires_at'),
  request_id: z.string().describe('The access request it answers'),
  requested_at: z.string().describe('When it was asked'),
  ready_at: z.string().nullable().describe('When it was ready'),
  expires_at: z.string().nullable().describe('When the download link expires'),
  downloaded_at: z.string().nullable().describe('When it was last downloaded'),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);
function requestToWire(r: PrivacyRequest): z.infer<typeof requestSchema> {
  return {
    id: r.id, kind: r.kind as z.infer<typeof requestSchema>['kind'], details: r.details, status: r.status, received_at: r.received_at.toISOString(),
    due_date: r.due_date, due_at: r.due_at.toISOString(), calendar_covered: r.calendar_covered, overdue: r.overdue,
    answered_at: iso(r.answered_at), answer: r.answer, refusal_reason: r.refusal_reason as z.infer<typeof requestSchema>['refusal_reason'],
  };
}
function exportToWire(e: DataExport): z.infer<typeof exportSchema> {
  return {
    id: e.id, status: e.status, request_id: e.request_id, requested_at: e.requested_at.toISOString(), ready_at: iso(e.ready_at),
    expires_at: iso(e.expires_at), downloaded_at: iso(e.downloaded_at),
  };
}

export interface PrivacyRouteDeps {
  accounts: AccountService; codes: SmsCodes; consents: ConsentService; requests: PrivacyRequests; exports: DataExports;
  profile: ProfileCorrections; deregistration: Deregistration;
}

/** The privacy routes (DESIGN §3 privacy): policy and consents, permissions, requests, the copy of everything, corrections, deregistration. */
export function registerPrivacyRoutes(app: App, deps: PrivacyRouteDeps): void {
  const { accounts, consents, requests, exports, profile, deregistration } = deps;
  const session = requireSession(accounts);
  const security = [{ session: [] }];

  app.get('/v1/privacy/policy', {
    schema: { tags, summary: 'The privacy policy in force and its purposes',
      description: 'The version a sign-up accepts (`accepted_policy_version`), with every purpose; optional ones are off until consented.',
      errors: [], response: { 200: policySchema } },
  }, async () => {
    const v = await consents.currentVersion();
    return { version: v.version, effective_at: v.effectiveAt.toISOString(), text_location: v.textLocation, major: v.major, purposes: v.purposes };
  });

  app.get('/v1/privacy/consents', {
    preHandler: session,
    schema: { security, tags, summary: 'Policy versions accepted and the state of each purpose',
      description: 'Every acceptance of a policy version, each purpose of the version in force with whether it is on, and the history of consents given and withdrawn.',
      errors: [], response: { 200: z.object({
        acceptances: z.array(z.object({ version: z.string().describe('Version accepted'), accepted_at: z.string().describe('When'),
          channel: z.string().describe('sign_up or login') })).describe('Each policy version accepted'),
        purposes: z.array(purposeSchema.extend({ granted: z.boolean().describe('On now'), recorded_at: z.string().nullable().describe('When last set') }))
          .describe('Each purpose of the version in force'),
        history: z.array(z.object({ purpose: z.string().describe('Purpose'), granted: z.boolean().describe('Given (true) or withdrawn'),
          policy_version: z.string().describe('Version in force then'), recorded_at: z.string().describe('When') })).describe('Each consent given or withdrawn'),
      }) } },
  }, async (request) => {
    const userId = caller(request).user.id;
    return {
      acceptances: (await consents.acceptances(userId)).map((a) => ({ version: a.version, accepted_at: a.accepted_at.toISOString(), channel: a.channel })),
      purposes: (await consents.purposeStates(userId)).map((p) => ({ ...p, recorded_at: iso(p.recorded_at) })),
      history: (await consents.consentHistory(userId)).map((h) => ({ purpose: h.purpose, granted: h.granted, policy_version: h.policy_version, recorded_at: h.recorded_at.toISOString() })),
    };
  });

  app.put('/v1/privacy/consents/:purpose', {
    preHandler: session,
    schema: { security, tags, summary: 'Give or withdraw consent to an optional purpose (marketing: opt in or out)',
      description: 'Only optional purposes of the version in force; each change is kept. Marketing messages are sent only while `marketing` is granted.',
      errors: [errors.parameter_invalid], params: z.object({ purpose: z.string().min(1).max(64).describe('The purpose code') }),
      body: z.object({ granted: z.boolean().describe('true to consent, false to withdraw') }),
      response: { 200: z.object({ purpose: z.string().describe('Purpose'), granted: z.boolean().describe('On now') }) } },
  }, async (request) => {
    await consents.setConsent(caller(request).user.id, request.params.purpose, request.body.granted);
    return { purpose: request.params.purpose, granted: request.body.granted };
  });

  app.post('/v1/privacy/permissions', {
    preHandler: session,
    schema: { security, tags, summary: 'The phone reports a permission granted or revoked (一(二))',
      description: 'The platform keeps each report; a feature that needs a revoked permission is refused by name (`permission_revoked`).',
      errors: [errors.not_found], body: z.object({
        device_id: z.string().min(1).max(64).describe('The reporting device (the account\'s)'),
        permission: z.enum(devicePermissions).describe('The phone permission'),
        state: z.enum(['granted', 'revoked']).describe('Granted or revoked'),
      }), response: { 201: z.object({ recorded: z.literal(true).describe('Kept') }) } },
  }, async (request, reply) => {
    await consents.recordPermission(caller(request).user.id, request.body.device_id, request.body.permission, request.body.state);
    void reply.code(201);
    return { recorded: true as const };
  });

  app.get('/v1/privacy/permissions', {
    preHandler: session,
    schema: { security, tags, summary: 'Every permission report of the account\'s phones',
      description: 'Oldest first: device, permission, state, when.', errors: [],
      response: { 200: z.object({ data: z.array(z.object({ device_id: z.string().describe('Device'), permission: z.string().describe('Permission'),
        state: z.string().describe('granted or revoked'), reported_at: z.string().describe('When') })).describe('The reports') }) } },
  }, async (request) => ({
    data: (await consents.permissionHistory(caller(request).user.id)).map((p) => ({ device_id: p.device_id, permission: p.permission, state: p.state, reported_at: p.reported_at.toISOString() })),
  }));

  app.post('/v1/privacy/feature-checks', {
    preHandler: session,
    schema: { security, tags, summary: 'Whether a feature can run on a phone, given its permissions',
      description: 'The phone asks before a feature that uses a permission; a revoked one is refused naming it (`permission_revoked`).',
      errors: [errors.permission_revoked], body: z.object({
        device_id: z.string().min(1).max(64).describe('The device'),
        feature: z.enum(Object.keys(featurePermissions) as [Feature]).describe('The feature'),
      }), response: { 200: z.object({ feature: z.string().describe('The feature'), permission: z.string().describe('The permission it uses'), available: z.literal(true).describe('It can run') }) } },
  }, async (request) => {
    await consents.checkFeature(caller(request).user.id, request.body.device_id, request.body.feature);
    return { feature: request.body.feature, permission: featurePermissions[request.body.feature], available: true as const };
  });

  app.post('/v1/privacy/requests', {
    preHandler: session,
    schema: { security, tags, summary: 'Make a privacy request (access, correction, deletion, consent withdrawal, complaint)',
      description: 'Answered within 15 working days on the Chinese calendar (holidays and adjusted working days); a refusal carries one of the policy\'s reasons.',
      errors: [], body: z.object({ kind: z.enum(requestKinds).describe('The right exercised'), details: z.string().trim().min(1).max(2000).describe('What is asked') }),
      response: { 201: requestSchema } },
  }, async (request, reply) => {
    const made = await requests.submit(caller(request).user.id, request.body.kind, request.body.details);
    void reply.code(201);
    return requestToWire(made);
  });

  app.get('/v1/privacy/requests', {
    preHandler: session,
    schema: { security, tags, summary: 'The account\'s privacy requests and their state', description: 'Newest first, with deadline and whether overdue.',
      errors: [], response: { 200: z.object({ data: z.array(requestSchema).describe('The requests') }) } },
  }, async (request) => ({ data: (await requests.list(caller(request).user.id)).map(requestToWire) }));

  app.get('/v1/privacy/requests/:id', {
    preHandler: session,
    schema: { security, tags, summary: 'One privacy request', description: 'A request of this account by id.', errors: [errors.not_found],
      params: z.object({ id: z.string().min(1).max(64).describe('The request id') }), response: { 200: requestSchema } },
  }, async (request) => requestToWire(await requests.get(caller(request).user.id, request.params.id)));

  app.post('/v1/privacy/exports', {
    preHandler: session,
    schema: { security, tags, summary: 'Ask for a copy of all one\'s data (free once a month)',
      description: 'Starts a job; when `ready`, download the ZIP (one JSON per domain + summary.txt) with the password or an SMS code. The link lives 7 days.',
      errors: [errors.export_limit_reached], response: { 202: exportSchema } },
  }, async (request, reply) => {
    const made = await exports.request(caller(request).user.id);
    void reply.code(202);
    return exportToWire(made);
  });

  app.get('/v1/privacy/exports', {
    preHandler: session,
    schema: { security, tags, summary: 'The account\'s copies asked for', description: 'Newest first.', errors: [],
      response: { 200: z.object({ data: z.array(exportSchema).describe('The exports') }) } },
  }, async (request) => ({ data: (await exports.list(caller(request).user.id)).map(exportToWire) }));

  app.get('/v1/privacy/exports/:id', {
    preHandler: session,
    schema: { security, tags, summary: 'One copy\'s state', description: 'pending, ready, downloaded or expired.', errors: [errors.not_found],
      params: z.object({ id: z.string().min(1).max(64).describe('The export id') }), response: { 200: exportSchema } },
  }, async (request) => exportToWire(await exports.get(caller(request).user.id, request.params.id)));

  app.post('/v1/privacy/exports/:id/download', {
    preHandler: session,
    schema: { security, tags, summary: 'Download the copy (ZIP), proving identity again with the password or an SMS code',
      description: 'Exactly one of `password` (counts toward the login lock) or `sms_code` (texted for `privacy_export`). Answers application/zip.',
      errors: [errors.not_found, errors.export_not_ready, errors.export_expired, errors.password_wrong, errors.login_locked, errors.parameter_invalid, ...smsCodeErrors],
      params: z.object({ id: z.string().min(1).max(64).describe('The export id') }),
      body: z.object({
        password: z.string().min(1).max(128).optional().describe('The account password'),
        sms_code: smsCode.optional().describe('A code texted for `privacy_export` to the account\'s phone'),
      }) },
  }, async (request, reply) => {
    const { user } = caller(request);
    const { password, sms_code: code } = request.body;
    if ((password === undefined) === (code === undefined)) throw errors.parameter_invalid('Send exactly one of password or sms_code.', 'password');
    await exports.get(user.id, request.params.id);
    if (password !== undefined) await accounts.confirmPassword(user.id, password);
    else await exports.confirmSmsCode(user.phone, code!);
    const zip = await exports.download(user.id, request.params.id);
    void reply.header('content-type', 'application/zip').header('content-disposition', `attachment; filename="mipay-data-${request.params.id}.zip"`)
      .header('cache-control', 'no-store');
    return Buffer.from(zip);
  });

  app.patch('/v1/account', {
    preHandler: session,
    schema: { security, tags: ['accounts'], summary: 'Correct the nickname or avatar (kept in the history)',
      description: 'Each change is a row of GET /v1/account/history.', errors: [],
      body: z.object({
        nickname: z.string().trim().min(1).max(32).optional().describe('The new nickname'),
        avatar_url: z.url({ protocol: /^https?$/ }).max(512).nullable().optional().describe('The new avatar, or null to remove it'),
      }), response: { 200: z.object({ updated: z.literal(true).describe('Saved') }) } },
  }, async (request) => {
    await profile.correct(caller(request).user.id, { nickname: request.body.nickname, avatarUrl: request.body.avatar_url });
    return { updated: true as const };
  });

  app.get('/v1/account/history', {
    preHandler: session,
    schema: { security, tags: ['accounts'], summary: 'Each correction of the profile', description: 'Oldest first; phones masked.', errors: [],
      response: { 200: z.object({ data: z.array(z.object({ field: z.string().describe('What changed'), old_value: z.string().nullable().describe('Before'),
        new_value: z.string().nullable().describe('After'), changed_at: z.string().describe('When') })).describe('The changes') }) } },
  }, async (request) => ({
    data: (await profile.history(caller(request).user.id)).map((h) => ({ field: h.field, old_value: h.old_value, new_value: h.new_value, changed_at: h.changed_at.toISOString() })),
  }));

  app.post('/v1/account/phone/codes', {
    preHandler: session,
    schema: { security, tags: ['accounts'], summary: 'Changing the login phone, step 1: codes to the current and the new phone',
      description: 'Texts a `login_phone_change` code to both numbers.', errors: [errors.parameter_invalid, errors.rate_limited],
      body: z.object({ new_phone: mobilePhone.describe('The new phone number') }),
      response: { 202: z.object({ expires_at: z.string().describe('When the codes expire') }) } },
  }, async (request, reply) => {
    const sent = await profile.requestPhoneChange(caller(request).user.id, request.body.new_phone);
    void reply.code(202);
    return { expires_at: sent.expiresAt.toISOString() };
  });

  app.put('/v1/account/phone', {
    preHandler: session,
    schema: { security, tags: ['accounts'], summary: 'Changing the login phone, step 2: both codes',
      description: 'Moves the login to the new phone; the history keeps both numbers masked.',
      errors: [errors.phone_already_registered, ...smsCodeErrors],
      body: z.object({ new_phone: mobilePhone.describe('The new phone number'), current_phone_code: smsCode.describe('The code sent to the current phone'),
        new_phone_code: smsCode.describe('The code sent to the new phone') }),
      response: { 200: z.object({ phone: z.string().describe('The login phone now') }) } },
  }, async (request) => {
    const b = request.body;
    await profile.changePhone(caller(request).user.id, { newPhone: b.new_phone, currentPhoneCode: b.current_phone_code, newPhoneCode: b.new_phone_code });
    return { phone: b.new_phone };
  });

  app.put('/v1/account/password', {
    preHandler: session,
    schema: { security, tags: ['accounts'], summary: 'Change the login password (old password + SMS code)',
      description: 'The old password (counts toward the login lock) and a code texted for `login_password_change`; every other session ends.',
      errors: [errors.password_wrong, errors.login_locked, errors.password_too_weak, ...smsCodeErrors],
      body: z.object({ old_password: z.string().min(1).max(128).describe('The current password'), sms_code: smsCode.describe('The code texted to the account\'s phone'),
        new_password: z.string().min(1).max(128).describe('The new password: 8–64 characters with a letter and a digit') }),
      response: { 200: z.object({ changed: z.literal(true).describe('Changed') }) } },
  }, async (request) => {
    const { user, session: current } = caller(request);
    await accounts.changePassword({ userId: user.id, keepSessionId: current.id, oldPassword: request.body.old_password, smsCode: request.body.sms_code, newPassword: request.body.new_password });
    return { changed: true as const };
  });

  const deregistered = z.object({ request_id: z.string().describe('The deletion request recording it (GET /v1/privacy/requests/{id})') });
  app.post('/v1/privacy/deregistrations/payment-service', {
    preHandler: session,
    schema: { security, tags, summary: 'Deregister the payment service (五(四))',
      description: 'Refused with every reason while the balance is not zero, a payment or refund is pending or a dispute is open; otherwise cards are unbound at the banks, device cards deleted and the payment account closed, at once.',
      errors: [errors.payment_account_not_found, errors.deregistration_refused, errors.bank_unavailable], response: { 200: deregistered } },
  }, async (request) => {
    const done = await deregistration.deregisterPaymentService(caller(request).user.id);
    return { request_id: done.requestId };
  });

  app.post('/v1/privacy/deregistrations/mi-account', {
    preHandler: session,
    schema: { security, tags, summary: 'Deregister the Mi account (and the payment service with it)',
      description: 'The payment service first (same refusals); then sessions end and personal data is deleted or anonymised, except the AML records the law keeps. Confirm with the password.',
      errors: [errors.deregistration_refused, errors.bank_unavailable, errors.password_wrong, errors.login_locked],
      body: z.object({ password: z.string().min(1).max(128).describe('The account password') }), response: { 200: deregistered } },
  }, async (request) => {
    const userId = caller(request).user.id;
    await accounts.confirmPassword(userId, request.body.password);
    const done = await deregistration.deregisterMiAccount(userId);
    return { request_id: done.requestId };
  });
}
