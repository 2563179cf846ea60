import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticationHook } from '../../infra/http/server.ts';
import { errors } from '../errors.ts';
import type { StaffService } from './service.ts';
import type { StaffRole } from './tables.ts';

/** Who is calling an /ops route, set by `requireStaff`. */
export interface StaffCaller {
  staffId: string;
  roles: readonly StaffRole[];
  sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    staff?: StaffCaller;
  }
}

/** The OpenAPI security requirement of an /ops route (the `staff` scheme: a token from POST /ops/v1/sessions). */
export const staffSecurity = [{ staff: [] }];

/** The errors every route guarded by `requireStaff` can raise, for its `errors:` list (401 is implied by `security`). */
export const staffAuthErrors = [errors.staff_role_required];

/**
 * The authentication of an /ops route: a live staff session (`Authorization: Bearer mpo_…`)
 * whose staff member holds at least one of `roles` (none given: any staff member). Runs before
 * the body is parsed; sets `request.staff`. A user's session token is not a staff token.
 */
export function requireStaff(staff: StaffService, ...roles: StaffRole[]) {
  return authenticationHook(async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const auth = token ? await staff.authenticate(token) : undefined;
    if (!auth) throw errors.authentication_required('Log in as staff first: send the token of POST /ops/v1/sessions as Authorization: Bearer <token>.');
    if (roles.length > 0 && !roles.some((role) => auth.staff.roles.includes(role))) {
      throw errors.staff_role_required(`This needs the role ${roles.join(' or ')}.`, undefined, { roles_required: roles });
    }
    request.staff = { staffId: auth.staff.id, roles: auth.staff.roles, sessionId: auth.session.id };
  });
}

/** The staff member calling a route guarded by `requireStaff`. */
export function staffCaller(request: FastifyRequest): StaffCaller {
  if (!request.staff) throw new Error('staffCaller() used on a route without requireStaff');
  return request.staff;
}

/**
 * The `reason` every route that shows a user's data to staff requires (query string or body):
 * it is written to the audit log with the look (e.g. "ticket tkt_… customer asks about a refund").
 */
export const accessReason = z.string().trim().min(5).max(500)
  .describe('Why you are looking at this user\'s data (5–500 characters); written to the audit log with your name');
