/**
 * API errors: one catalogue per party, each entry with a stable code, an HTTP status, a type
 * and the sentence that says when it is raised. On the wire every error has one shape:
 * `{ error: { type, code, message, param } }` (Stripe's convention).
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'card_error'
  | 'verification_error'
  | 'rate_limit_error'
  | 'idempotency_error'
  | 'api_error';

export interface ErrorSpec {
  readonly status: number;
  readonly type: ErrorType;
  readonly raisedWhen: string;
}

/** An operating error the API answers with: bad input, a declined card, a locked password. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | undefined;
  /** Extra, non-secret facts for the client, e.g. `{ retry_after_s: 42 }`. */
  readonly details: Record<string, unknown> | undefined;
  /** The message in Chinese, sent instead of `message` to a caller asking `Accept-Language: zh`. */
  messageZh: string | undefined;

  constructor(code: string, spec: ErrorSpec, message: string, param?: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = spec.status;
    this.type = spec.type;
    this.param = param;
    this.details = details;
  }

  /** Gives the error its Chinese message; returns the error, for `throw errors.x('…').inChinese('…')`. */
  inChinese(message: string): this {
    this.messageZh = message;
    return this;
  }

  toWire(locale: 'en' | 'zh' = 'en'): { error: Record<string, unknown> } {
    return {
      error: {
        type: this.type,
        code: this.code,
        message: locale === 'zh' && this.messageZh ? this.messageZh : this.message,
        ...(this.param !== undefined ? { param: this.param } : {}),
        ...this.details,
      },
    };
  }
}

export type ErrorFactory = ((message: string, param?: string, details?: Record<string, unknown>) => ApiError) & {
  readonly code: string;
  readonly spec: ErrorSpec;
};

/** Turns a catalogue of specs into typed factories: `errors.sms_code_invalid('…', 'code')`. */
export function defineErrors<const C extends Record<string, ErrorSpec>>(catalogue: C): { [K in keyof C]: ErrorFactory } {
  const out: Record<string, ErrorFactory> = {};
  for (const [code, spec] of Object.entries(catalogue)) {
    const factory = (message: string, param?: string, details?: Record<string, unknown>) =>
      new ApiError(code, spec, message, param, details);
    out[code] = Object.assign(factory, { code, spec });
  }
  return out as { [K in keyof C]: ErrorFactory };
}

/** Errors every party's HTTP server can raise, whatever its domain. */
export const commonErrorSpecs = {
  parameter_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'a request field is missing, of the wrong type or out of its allowed range; `param` names it' },
  body_invalid: { status: 400, type: 'invalid_request_error', raisedWhen: 'the request body is not valid JSON or is larger than the server accepts' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', raisedWhen: 'the request has a body that is not sent as `Content-Type: application/json`' },
  authentication_required: { status: 401, type: 'authentication_error', raisedWhen: 'the request has no valid credentials (session token or API key), or they expired or were revoked' },
  not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'the path, or the object it names, does not exist for this caller' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', raisedWhen: 'the path exists but not with this HTTP method' },
  rate_limited: { status: 429, type: 'rate_limit_error', raisedWhen: 'the caller sent more of this kind of request than its limit allows; `retry_after_s` says when to try again' },
  internal_error: { status: 500, type: 'api_error', raisedWhen: 'the server failed unexpectedly; the request id in `x-request-id` finds it in the logs' },
  service_unavailable: { status: 503, type: 'api_error', raisedWhen: 'a party this request needs (a bank, the network) did not answer in time; nothing was changed' },
} as const satisfies Record<string, ErrorSpec>;

export const commonErrors = defineErrors(commonErrorSpecs);
