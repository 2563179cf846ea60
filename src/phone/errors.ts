// What the phone refuses on its own (no platform involved) and what the platform refused.

export type PhoneErrorCode =
  | 'fingerprint_not_enrolled' | 'fingerprint_not_recognized' | 'fingerprint_locked' | 'passcode_wrong'
  | 'card_not_found' | 'card_not_active' | 'no_limited_use_keys'
  | 'not_logged_in' | 'not_registered' | 'no_pending_card' | 'parameter_invalid';

/** A refusal by the phone itself; `param` names the input at fault when there is one. */
export class PhoneError extends Error {
  override readonly name = 'PhoneError';
  readonly code: PhoneErrorCode;
  readonly param: string | undefined;

  constructor(code: PhoneErrorCode, message: string, param?: string) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

/** The platform answered with an error (`{ error: { type, code, message, param } }`). */
export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  readonly status: number;
  readonly code: string;
  readonly type: string;
  readonly param: string | undefined;

  constructor(status: number, error: { type?: string; code?: string; message?: string; param?: string | null }) {
    const code = error.code ?? `http_${status}`;
    super(`${error.message ?? `The platform answered HTTP ${status}.`} [${code}${error.param ? `, param ${error.param}` : ''}]`);
    this.status = status;
    this.code = code;
    this.type = error.type ?? 'api_error';
    this.param = error.param ?? undefined;
  }
}

/** The platform could not be reached (offline, wrong URL, timeout): online operations need it. */
export class PlatformUnreachableError extends Error {
  override readonly name = 'PlatformUnreachableError';
  readonly code = 'platform_unreachable';

  constructor(url: string, cause: unknown) {
    super(`Cannot reach the platform at ${url}: ${(cause as Error)?.message ?? String(cause)}. Adding cards and sync need the network; paying does not.`);
  }
}
