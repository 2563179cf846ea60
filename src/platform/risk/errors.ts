import { errors } from '../errors.ts';

/** The refusals of a risk decision (gate.ts), declared by every route the engine decides on. */
export const riskErrors = [errors.risk_step_up_required, errors.risk_review_required, errors.risk_denied];
