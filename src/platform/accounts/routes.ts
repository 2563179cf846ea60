import { z } from 'zod';
import { platformRateLimits, type RateLimiter } from '../../infra/http/rate-limit.ts';
import type { App } from '../../infra/http/server.ts';
import { mobilePhone } from '../../infra/validation/phone.ts';
import { caller, requireSession } from '../auth.ts';
import { errors, smsCodeErrors } from '../errors.ts';
import type { AccountService, Session, User } from './service.ts';
import type { SmsCodes } from './sms-codes.ts';
import { birthDateField, refuseMinor } from '../privacy/minors.ts';

const smsCode = z.string().regex(/^[0-9]{6}$/, '6 digits').describe('The 6-digit code sent by SMS');

export const userSchema = z.object({
  id: z.string(),
  mi_number: z.string().describe('The public Mi account number (小米账号); others transfer to it'),
  phone: z.string(),
  nickname: z.string(),
  avatar_url: z.string().nullable(),
  created_at: z.string(),
});

const sessionSchema = z.object({
  id: z.string(),
  created_at: z.string(),
  last_seen_at: z.string(),
  expires_at: z.string(),
  user_agent: z.string().nullable(),
  ip: z.string().nullable(),
  current: z.boolean(),
});

export function userToWire(user: User): z.infer<typeof userSchema> {
  return { id: user.id, mi_number: user.mi_number, phone: user.phone, nickname: user.nickname, avatar_url: user.avatar_url, created_at: user.created_at.toISOString() };
}

function sessionToWire(session: Session, currentId: string): z.infer<typeof sessionSchema> {
  return {
    id: session.id, created_at: session.created_at.toISOString(), last_seen_at: session.last_seen_at.toISOString(),
    expires_at: session.expires_at.toISOString(), user_agent: session.user_agent, ip: session.ip, current: session.id === currentId,
  };
}

export function registerAccountRoutes(app: App, accounts: AccountService, codes: SmsCodes, limiter: RateLimiter): void {
  const authed = { preHandler: requireSession(accounts), schema: { security: [{ session: [] }] } };

  app.post('/v1/sms-codes', {
    onRequest: limiter.hook(platformRateLimits.smsSend),
    schema: {
      tags: ['accounts'],
      summary: 'Text a 6-digit code to a phone (valid 5 minutes; 1 a minute, 10 an hour per phone)',
      errors: [errors.phone_not_account_phone, errors.authentication_required, errors.rate_limited, errors.applicant_under_18],
      description: '`sign_up` is answered alike for every phone: a phone that already has a Mi account gets a text saying so instead of a code. '
        + '`payment_password_reset`, `payment` (the second factor of a balance payment) and `payment_certificate` (enrolling a payment certificate) need a session and the account\'s own phone. '
        + '`login_password_change` (changing the login password) and `privacy_export` (downloading a copy of one\'s data) too. '
        + 'Also limited per client address and subnet (429 `rate_limited`). A `sign_up` with a `birth_date` under 18 is refused '
        + '(`applicant_under_18`) before any code is sent or anything kept.',
      body: z.object({ phone: mobilePhone, purpose: z.enum(['sign_up', 'payment_password_reset', 'payment', 'payment_certificate', 'login_password_change', 'privacy_export']),
        birth_date: birthDateField.optional() }),
      response: { 202: z.object({ phone: z.string(), purpose: z.string(), expires_at: z.string() }) },
    },
  }, async (request, reply) => {
    const { phone, purpose } = request.body;
    if (purpose === 'sign_up') refuseMinor(request.body.birth_date, accounts.now());
    let sent: { expiresAt: Date };
    if (purpose === 'sign_up') {
      sent = await accounts.requestSignUpCode(phone);
    } else {
      await requireSession(accounts)(request);
      if (caller(request).user.phone !== phone) throw errors.phone_not_account_phone('Codes for account operations go to the account\'s own phone.', 'phone');
      sent = await codes.send(phone, purpose);
    }
    void reply.code(202);
    return { phone, purpose, expires_at: sent.expiresAt.toISOString() };
  });

  app.post('/v1/accounts', {
    onRequest: limiter.hook(platformRateLimits.signUp),
    schema: {
      tags: ['accounts'],
      summary: 'Sign up for a Mi account with a phone number verified by SMS',
      description: 'The code must be one texted for `sign_up` to this phone in the last 5 minutes. The password needs 8 or '
        + 'more characters with a letter and a digit; it is stored as an argon2id hash. Sign-up does not log in: '
        + '`POST /v1/sessions` does.',
      errors: [errors.phone_already_registered, errors.password_too_weak, ...smsCodeErrors, errors.rate_limited,
        errors.applicant_under_18, errors.policy_version_not_current],
      body: z.object({
        phone: mobilePhone,
        sms_code: smsCode,
        password: z.string().min(1).max(128),
        nickname: z.string().trim().min(1).max(32),
        avatar_url: z.url({ protocol: /^https?$/ }).max(512).optional(),
        birth_date: birthDateField.optional(),
        accepted_policy_version: z.string().max(16).optional()
          .describe('The privacy-policy version shown and accepted (GET /v1/privacy/policy); without it, the version in force is recorded'),
      }),
      response: { 201: userSchema },
    },
  }, async (request, reply) => {
    const b = request.body;
    refuseMinor(b.birth_date, accounts.now());
    const user = await accounts.signUp({
      phone: b.phone, smsCode: b.sms_code, password: b.password, nickname: b.nickname, avatarUrl: b.avatar_url,
      birthDate: b.birth_date, acceptedPolicyVersion: b.accepted_policy_version,
    });
    void reply.code(201);
    return userToWire(user);
  });

  app.post('/v1/sessions', {
    onRequest: limiter.hook(platformRateLimits.login),
    schema: {
      tags: ['accounts'],
      summary: 'Log in: answers a session token for `Authorization: Bearer`',
      description: 'The token is shown once and stored only as a hash. 10 wrong passwords in a row lock logging in for an '
        + 'hour (`login_locked`); the answer never says whether the phone or the password was wrong.',
      errors: [errors.login_failed, errors.login_locked, errors.rate_limited, errors.policy_acceptance_required, errors.risk_denied],
      body: z.object({
        phone: mobilePhone, password: z.string().min(1).max(128),
        accept_policy_version: z.string().max(16).optional()
          .describe('After a major privacy-policy change (403 `policy_acceptance_required`): the version read and accepted'),
      }),
      response: { 201: z.object({ token: z.string().describe('The session token, for `Authorization: Bearer`; shown only here'), session: sessionSchema, user: userSchema }) },
    },
  }, async (request, reply) => {
    const { token, session } = await accounts.logIn({
      phone: request.body.phone, password: request.body.password, userAgent: request.headers['user-agent'], ip: request.ip,
      acceptPolicyVersion: request.body.accept_policy_version,
    });
    const user = await accounts.getUser(session.user_id);
    void reply.code(201);
    return { token, session: sessionToWire(session, session.id), user: userToWire(user) };
  });

  app.get('/v1/sessions', {
    ...authed,
    schema: { ...authed.schema, tags: ['accounts'], summary: 'The account\'s live sessions',
      description: 'Each session with where and when it was last used; `current` marks the one making this request.',
      errors: [], response: { 200: z.object({ data: z.array(sessionSchema) }) } },
  }, async (request) => {
    const { user, session } = caller(request);
    return { data: (await accounts.listSessions(user.id)).map((s) => sessionToWire(s, session.id)) };
  });

  app.delete('/v1/sessions/current', {
    ...authed,
    schema: { ...authed.schema, tags: ['accounts'], summary: 'Log out: ends this session; a phone\'s own session takes that phone\'s bank device cards with it',
      description: 'Ends the session making the request. Logging the phone out of the Mi account (its own session, see '
        + '`PUT /v1/devices/{id}/session`) removes that phone\'s bank device cards, as Mi Pay does; transit and door cards stay. '
        + 'A browser or API session deletes no card.',
      errors: [], response: { 204: z.null() } },
  }, async (request, reply) => {
    const { user, session } = caller(request);
    await accounts.logOut(user.id, session.id);
    void reply.code(204);
    return null;
  });

  app.delete('/v1/sessions/:id', {
    ...authed,
    schema: {
      ...authed.schema, tags: ['accounts'], summary: 'End another session of this account',
      description: 'Ends one of the account\'s other sessions (e.g. a lost laptop). Ending a phone\'s own session deletes that '
        + 'phone\'s bank device cards (transit cards stay). Deleting a session that is not the account\'s, or already ended, is '
        + '`not_found`.',
      errors: [errors.not_found],
      params: z.object({ id: z.string().min(1).max(64) }), response: { 204: z.null() },
    },
  }, async (request, reply) => {
    await accounts.revokeSession(caller(request).user.id, request.params.id);
    void reply.code(204);
    return null;
  });

  app.get('/v1/account', {
    ...authed,
    schema: { ...authed.schema, tags: ['accounts'], summary: 'The logged-in Mi account',
      description: 'The Mi account of the session: id, phone, nickname, avatar.',
      errors: [], response: { 200: userSchema } },
  }, async (request) => userToWire(caller(request).user));
}
