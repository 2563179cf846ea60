import type { FastifyRequest } from 'fastify';
import type { AccountService, Session, User } from './accounts/service.ts';
import { errors } from './errors.ts';
import { authenticationHook } from '../infra/http/server.ts';

declare module 'fastify' {
  interface FastifyRequest {
    auth?: { session: Session; user: User };
  }
}

/**
 * A hook that admits only requests with a live session token (`Authorization: Bearer mps_…`);
 * it runs before the body is parsed (infra/http/server.ts `authenticationHook`).
 */
export function requireSession(accounts: AccountService) {
  return authenticationHook(async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const auth = token ? await accounts.authenticate(token) : undefined;
    if (!auth) throw errors.authentication_required('Log in first: send the session token as Authorization: Bearer <token>.');
    request.auth = auth;
  });
}

/** The authenticated caller of a route guarded by `requireSession`. */
export function caller(request: FastifyRequest): { session: Session; user: User } {
  if (!request.auth) throw new Error('caller() used on a route without requireSession');
  return request.auth;
}
