/**
 * Records every important user operation in the operation log, with its risk context and its
 * outcome, from hooks on the platform's HTTP server: the domains that carry the operations need
 * no change to be logged. The payment routes also make a decision before they move money
 * (payments/service.ts `checkRisk`); logging in is decided here, before the password is checked.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../infra/http/errors.ts';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { riskContextOf } from './context.ts';
import type { RiskEngine, Outcome } from './engine.ts';
import { attachDecision, decisionOf, enforce } from './gate.ts';
import type { RiskOperation } from './rules.ts';

/** The routes whose requests are important operations, by `METHOD url` as Fastify names the route. */
export const loggedRoutes: Readonly<Record<string, RiskOperation>> = {
  'POST /v1/sessions': 'login',
  'POST /v1/orders/:id/pay': 'payment',
  'POST /v1/transfers': 'transfer',
  'POST /v1/top-ups': 'top_up',
  'POST /v1/withdrawals': 'withdrawal',
  'POST /v1/cards': 'card_add',
  'POST /v1/device-cards': 'device_card_provision',
  'POST /v1/payment-account/password/reset': 'payment_password_change',
  'POST /v1/devices': 'device_register',
};

/** Refusals that mean a wrong password: they make a failed-password streak. */
const wrongPasswordCodes = new Set(['login_failed', 'password_wrong', 'payment_password_wrong', 'password_reset_failed', 'password_recovery_failed']);

const state = new WeakMap<FastifyRequest, { errorCode?: string; createdId?: string; loginUserId?: string }>();

function stateOf(request: FastifyRequest) {
  let s = state.get(request);
  if (!s) state.set(request, (s = {}));
  return s;
}

function operationOf(request: FastifyRequest): RiskOperation | undefined {
  return loggedRoutes[`${request.method} ${request.routeOptions.url ?? ''}`];
}

export function outcomeOf(statusCode: number, errorCode: string | undefined): Outcome {
  if (statusCode < 400) return 'succeeded';
  if (errorCode && wrongPasswordCodes.has(errorCode)) return 'failed_password';
  if (errorCode?.startsWith('risk_')) return 'refused';
  return 'failed';
}

export function registerRiskCapture(app: App, deps: { engine: RiskEngine; accounts: AccountService }): void {
  app.addHook('preHandler', async (request: FastifyRequest) => {
    if (operationOf(request) !== 'login') return;
    const phone = (request.body as { phone?: unknown } | undefined)?.phone;
    if (typeof phone !== 'string') return;
    const user = await deps.accounts.findUserByPhone(phone);
    if (!user) return;
    stateOf(request).loginUserId = user.id;
    const context = riskContextOf(request);
    const decision = await deps.engine.assess(user.id, 'login', { amountFen: null, payee: null, cardId: null }, context);
    // Before a session exists there is no second factor to ask: login rules allow or deny (rules.ts `allowOrDenyOnly`).
    attachDecision(context, decision);
    enforce(decision, undefined);
  });

  app.addHook('onError', async (request: FastifyRequest, _reply: FastifyReply, error: Error) => {
    if (operationOf(request) && error instanceof ApiError) stateOf(request).errorCode = error.code;
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const operation = operationOf(request);
    if ((operation === 'card_add' || operation === 'device_card_provision') && reply.statusCode < 300 && typeof payload === 'string') {
      try {
        const body = JSON.parse(payload) as { id?: unknown; device_card?: { card_id?: unknown } };
        const id = operation === 'card_add' ? body.id : body.device_card?.card_id;
        if (typeof id === 'string') stateOf(request).createdId = id;
      } catch {
        // Not JSON: nothing to take from it.
      }
    }
    return payload;
  });

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const operation = operationOf(request);
    if (!operation) return;
    const s = state.get(request);
    const userId = request.auth?.user.id ?? s?.loginUserId;
    if (!userId) return;
    const context = riskContextOf(request);
    const body = (request.body ?? {}) as { amount_fen?: unknown; card_id?: unknown };
    const amountFen = typeof body.amount_fen === 'number' ? BigInt(body.amount_fen) : null;
    const cardId = s?.createdId ?? (typeof body.card_id === 'string' ? body.card_id : null);
    deps.engine.settle({
      userId, operation, outcome: outcomeOf(reply.statusCode, s?.errorCode), context, decision: decisionOf(context),
      facts: { amountFen, cardId, payee: null },
    });
  });
}
