// What the phone refuses on its own (no platform involved) and what the platform refused.

export type PhoneErrorCode =
  | 'fingerprint_not_enrolled' | 'fingerprint_not_recognized' | 'fingerprint_locked' | 'passcode_wrong'
  | 'card_not_found' | 'card_not_active' | 'no_limited_use_keys'
  | 'not_logged_in' | 'not_registered' | 'no_pending_card' | 'parameter_invalid' | 'keys_unreadable'
  | 'transit_tunion_present' | 'transit_brand_present' | 'transit_load_failed' | 'transit_close_failed'
  | 'door_card_encrypted' | 'door_card_not_supported' | 'door_card_dump_invalid' | 'door_card_exists'
  | 'door_cards_limit' | 'door_card_not_found' | 'no_card_in_field'
  | 'no_certificate' | 'payee_name_not_confirmed'
  | 'session_ended' | 'card_reader_failed';

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
  /** The error's other, non-secret facts (e.g. `retry_after_s`, `tries_left`). */
  readonly details: Record<string, unknown>;

  constructor(status: number, error: { type?: string; code?: string; message?: string; param?: string | null; [detail: string]: unknown }) {
    const { type, code: given, message, param, ...details } = error;
    const code = given ?? `http_${status}`;
    const retry = typeof details.retry_after_s === 'number' ? ` Try again in ${details.retry_after_s} s.` : '';
    super(`${message ?? `The platform answered HTTP ${status}.`}${retry} [${code}${param ? `, param ${param}` : ''}]`);
    this.status = status;
    this.code = code;
    this.type = type ?? 'api_error';
    this.param = param ?? undefined;
    this.details = details;
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
