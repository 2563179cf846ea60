/**
 * Where the risk engine's decisions are enforced: before an operation runs, its decision is made;
 * `allow` lets it run, `step_up` asks for one more factor on top of the password (an SMS code, or
 * a fingerprint statement the phone signed with its device key), `review` and `deny` refuse it.
 * The user is told what to do in plain words; which rules fired stays with the risk team.
 *
 * The decision is kept with the request's risk context, so the hook that records the operation
 * when the response is sent (capture.ts) writes it with its outcome.
 */
import { errors } from '../errors.ts';
import type { RequestRiskContext } from './context.ts';
import type { Decision, RiskEngine } from './engine.ts';
import type { OperationFacts, RiskOperation } from './rules.ts';

/** The factors a request carries, as far as a step-up needs to know. */
export interface PresentedFactors {
  password: boolean;
  smsCode: boolean;
  fingerprint: boolean;
  certificate: boolean;
}

/** The ways a step-up can be satisfied, as told to the client. */
export const stepUpMethods = ['sms_code', 'fingerprint', 'certificate'] as const;

export const userMessages = {
  step_up: 'For your security, please confirm this operation with an SMS verification code or your fingerprint as well.',
  review: 'This operation needs a manual security check before it can go through. Contact customer service, or submit identity proof.',
  deny: 'This operation cannot be completed, to protect your account. Contact customer service if you need help.',
} as const;

const decisions = new WeakMap<RequestRiskContext, Decision>();

/** The decision made for the request whose risk context this is, if any. */
export function decisionOf(context: RequestRiskContext): Decision | undefined {
  return decisions.get(context);
}

/** Keeps `decision` with the request whose risk context this is, for the hook that logs the operation. */
export function attachDecision(context: RequestRiskContext, decision: Decision): void {
  decisions.set(context, decision);
}

/**
 * A step-up is satisfied by two factors at least, one of them something the phone proves: an SMS
 * code to the account's phone, a fingerprint statement signed by its device key, or a payment
 * certificate's signature. The password alone is what the rules found not enough.
 */
export function stepUpSatisfied(f: PresentedFactors): boolean {
  const count = [f.password, f.smsCode, f.fingerprint, f.certificate].filter(Boolean).length;
  return count >= 2 && (f.smsCode || f.fingerprint || f.certificate);
}

export class RiskGate {
  readonly engine: RiskEngine;

  constructor(engine: RiskEngine) {
    this.engine = engine;
  }

  /**
   * Decides on `operation` and enforces the decision, throwing the refusal the user sees. The
   * factors presented are checked afterwards by the operation itself (a wrong SMS code or an
   * invalid fingerprint statement still fails there), so presenting them cannot skip a check.
   */
  async check(userId: string, operation: RiskOperation, facts: Pick<OperationFacts, 'amountFen' | 'payee' | 'cardId'>,
    context: RequestRiskContext, presented: PresentedFactors): Promise<Decision> {
    const decision = await this.engine.assess(userId, operation, facts, context);
    attachDecision(context, decision);
    enforce(decision, presented);
    return decision;
  }
}

/** Applies a decision's level; sets `decision.enforced` and throws the user's refusal when the operation may not run. */
export function enforce(decision: Decision, presented: PresentedFactors | undefined): void {
  switch (decision.level) {
    case 'allow':
      decision.enforced = 'allowed';
      return;
    case 'step_up':
      if (presented && stepUpSatisfied(presented)) {
        decision.enforced = 'stepped_up';
        return;
      }
      decision.enforced = 'refused';
      throw errors.risk_step_up_required(userMessages.step_up, 'sms_code', { step_up: [...stepUpMethods], decision_id: decision.id });
    case 'review':
      decision.enforced = 'refused';
      throw errors.risk_review_required(userMessages.review, undefined, { decision_id: decision.id });
    case 'deny':
      decision.enforced = 'refused';
      throw errors.risk_denied(userMessages.deny, undefined, { decision_id: decision.id });
  }
}
