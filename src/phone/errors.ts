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

// The platform's refusals are the platform client's (src/platform/client.ts); re-exported for the phone's callers.
export { PlatformError, PlatformUnreachableError } from '../platform/client.ts';
