import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RateLimiter, RateLimitRule } from '../../infra/http/rate-limit.ts';
import type { App } from '../../infra/http/server.ts';
import { errors } from '../errors.ts';
import { requireStaff, staffAuthErrors, staffCaller, staffSecurity } from './auth.ts';
import type { StaffMember, StaffService, StaffSession } from './service.ts';
import { staffRoles } from './tables.ts';
import { base32Encode } from './totp.ts';

/** Staff logins per client address and subnet, on top of the per-account lock (5 wrong tries). */
export const staffLoginRateLimit: RateLimitRule = {
  name: 'staff-login', perIp: { max: 10, windowMs: 60_000 }, perSubnet: { max: 30, windowMs: 60_000 },
};

const roleSchema = z.enum(staffRoles).describe('A staff role: support_agent, risk_reviewer, compliance_officer or admin');

const staffSchema = z.object({
  id: z.string().describe('The staff member\'s id (`stf_…`)'),
  email: z.string().describe('The staff member\'s login email'),
  name: z.string().describe('The staff member\'s name, as shown in the audit log and on tickets'),
  roles: z.array(roleSchema).describe('The roles held; a route admits a staff member holding any role it names'),
  status: z.enum(['active', 'disabled']).describe('`disabled`: cannot log in, sessions ended'),
  created_at: z.string(),
  disabled_at: z.string().nullable(),
});

const staffSessionSchema = z.object({
  id: z.string().describe('The staff session\'s id (`sss_…`)'),
  created_at: z.string(),
  expires_at: z.string().describe('When the session ends at the latest (8 hours after login); it also ends after 30 minutes unused'),
});

export function staffToWire(staff: StaffMember): z.infer<typeof staffSchema> {
  return {
    id: staff.id, email: staff.email, name: staff.name, roles: staff.roles, status: staff.status, created_at: staff.created_at.toISOString(),
    disabled_at: staff.disabled_at?.toISOString() ?? null,
  };
}

function staffSessionToWire(session: StaffSession): z.infer<typeof staffSessionSchema> {
  return { id: session.id, created_at: session.created_at.toISOString(), expires_at: session.expires_at.toISOString() };
}

const tags = ['ops: staff'];

/** /ops/v1 staff routes: log in and out, who am I, and (admins) the staff list, new staff, roles, disabling. */
export function registerStaffRoutes(app: App, staff: StaffService, limiter: RateLimiter): void {
  const anyStaff = { preHandler: requireStaff(staff) };
  const admin = { preHandler: requireStaff(staff, 'admin') };

  app.post('/ops/v1/sessions', {
    onRequest: limiter.hook(staffLoginRateLimit),
    schema: {
      tags, summary: 'Staff login: email, password and authenticator code together; answers a staff session token',
      description: 'The code is the 6-digit TOTP (RFC 6238) of the authenticator app set up with the secret `mipay staff create` '
        + 'printed; each code works once. Five failures in a row lock the login for an hour (`staff_login_locked`); a failure '
        + 'never says which of the three was wrong. The token is shown once; the session lasts 8 hours, 30 minutes idle.',
      errors: [errors.staff_login_failed, errors.staff_login_locked, errors.rate_limited],
      body: z.object({
        email: z.string().trim().min(3).max(254).describe('The staff member\'s login email'),
        password: z.string().min(1).max(128).describe('The staff member\'s password'),
        totp_code: z.string().regex(/^[0-9]{6}$/, '6 digits').describe('The 6-digit code the authenticator app shows now'),
      }),
      response: {
        201: z.object({
          token: z.string().describe('The staff session token (`mpo_…`), for `Authorization: Bearer` on /ops routes; shown only here'),
          session: staffSessionSchema.describe('The new staff session'), staff: staffSchema.describe('The staff member who logged in'),
        }),
      },
    },
  }, async (request, reply) => {
    const { token, session, staff: member } = await staff.logIn({
      email: request.body.email, password: request.body.password, totpCode: request.body.totp_code, ip: request.ip,
      userAgent: request.headers['user-agent'],
    });
    void reply.code(201);
    return { token, session: staffSessionToWire(session), staff: staffToWire(member) };
  });

  app.delete('/ops/v1/sessions/current', {
    ...anyStaff,
    schema: {
      tags, security: staffSecurity, summary: 'Staff logout: ends this staff session',
      description: 'Ends the session making the request; the logout is written to the audit log.',
      errors: [...staffAuthErrors], response: { 204: z.null() },
    },
  }, async (request, reply) => {
    const caller = staffCaller(request);
    await staff.logOut(caller.staffId, caller.sessionId, request.ip);
    void reply.code(204);
    return null;
  });

  app.get('/ops/v1/me', {
    ...anyStaff,
    schema: {
      tags, security: staffSecurity, summary: 'The logged-in staff member and their roles',
      description: 'Who the staff token belongs to; the console shows the sections the roles open.',
      errors: [...staffAuthErrors], response: { 200: staffSchema },
    },
  }, async (request) => staffToWire((await staff.get(staffCaller(request).staffId))!));

  app.post('/ops/v1/me/password', {
    ...anyStaff,
    schema: {
      tags, security: staffSecurity, summary: 'Change your own staff password (current password and a fresh TOTP code again)',
      description: 'For the generated first password and for routine changes. Wrong tries count toward the login lock; your other '
        + 'sessions end. Audited as `staff.password.change`.',
      errors: [...staffAuthErrors, errors.staff_login_failed, errors.staff_login_locked, errors.staff_password_too_weak],
      body: z.object({
        current_password: z.string().min(1).max(128).describe('Your password now'),
        new_password: z.string().min(1).max(128).describe('The new password: 12–128 characters with a letter and a digit'),
        totp_code: z.string().regex(/^[0-9]{6}$/, '6 digits').describe('The 6-digit code your authenticator app shows now (not one already used)'),
      }),
      response: { 204: z.null() },
    },
  }, async (request, reply) => {
    const caller = staffCaller(request);
    const b = request.body;
    await staff.changePassword(caller.staffId, caller.sessionId, { currentPassword: b.current_password, newPassword: b.new_password, totpCode: b.totp_code }, request.ip);
    void reply.code(204);
    return null;
  });

  app.get('/ops/v1/staff', {
    ...admin,
    schema: {
      tags, security: staffSecurity, summary: 'The staff members (admin)',
      description: 'Every staff member with roles and status, oldest first, at most 200.',
      errors: [...staffAuthErrors], response: { 200: z.object({ data: z.array(staffSchema) }) },
    },
  }, async () => ({ data: (await staff.list(200)).map(staffToWire) }));

  app.post('/ops/v1/staff', {
    ...admin,
    schema: {
      tags, security: staffSecurity, summary: 'Create a staff member (admin); answers the first password and TOTP secret once',
      description: 'Staff never sign up: an admin creates them (the first admin comes from `mipay staff create`). The answer holds '
        + 'a generated first password and the TOTP secret with its otpauth URI, shown only here, for the new staff member\'s '
        + 'authenticator app. Audited as `staff.create`.',
      errors: [...staffAuthErrors, errors.staff_email_taken],
      body: z.object({
        email: z.email().max(254).describe('The new staff member\'s login email'),
        name: z.string().trim().min(1).max(64).describe('The new staff member\'s name'),
        roles: z.array(roleSchema).min(1).max(4).describe('The roles to grant'),
      }),
      response: {
        201: z.object({
          staff: staffSchema.describe('The staff member created'),
          password: z.string().describe('The generated first password; shown only here'),
          totp_secret: z.string().describe('The TOTP secret in base32, for an authenticator app; shown only here'),
          otpauth_uri: z.string().describe('The same secret as an `otpauth://totp/…` URI (render it as a QR code); shown only here'),
        }),
      },
    },
  }, async (request, reply) => {
    const password = `${randomBytes(15).toString('base64url')}7a`;
    const created = await staff.create({
      email: request.body.email, name: request.body.name, password, roles: request.body.roles, createdBy: staffCaller(request).staffId, ip: request.ip,
    });
    void reply.code(201);
    return { staff: staffToWire(created.staff), password, totp_secret: base32Encode(created.totpSecret), otpauth_uri: created.otpauthUri };
  });

  app.put('/ops/v1/staff/:id/roles', {
    ...admin,
    schema: {
      tags, security: staffSecurity, summary: 'Set a staff member\'s roles (admin)',
      description: 'Replaces the roles; takes effect on the staff member\'s next request. An admin cannot remove their own admin '
        + 'role (`staff_change_refused`). Audited as `staff.roles.set` with the roles before and after.',
      errors: [...staffAuthErrors, errors.not_found, errors.staff_change_refused],
      params: z.object({ id: z.string().min(1).max(64).describe('The staff member\'s id') }),
      body: z.object({ roles: z.array(roleSchema).min(1).max(4).describe('The roles the staff member holds from now on') }),
      response: { 200: staffSchema },
    },
  }, async (request) => staffToWire(await staff.setRoles(staffCaller(request).staffId, request.params.id, request.body.roles, request.ip)));

  app.post('/ops/v1/staff/:id/disable', {
    ...admin,
    schema: {
      tags, security: staffSecurity, summary: 'Disable a staff member (admin): sessions end at once, no more logins',
      description: 'For someone who left or a lost authenticator. An admin cannot disable themself (`staff_change_refused`). '
        + 'Audited as `staff.disable`.',
      errors: [...staffAuthErrors, errors.not_found, errors.staff_change_refused],
      params: z.object({ id: z.string().min(1).max(64).describe('The staff member\'s id') }),
      response: { 200: staffSchema },
    },
  }, async (request) => staffToWire(await staff.disable(staffCaller(request).staffId, request.params.id, request.ip)));
}
