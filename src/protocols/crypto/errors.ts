// Operating errors of the crypto layer: input that came from outside (a terminal, a phone, a
// bank message) and is malformed. Programmer errors (an unknown algorithm name that the type
// system should have caught, a MAC length out of range) are asserted instead and crash.
//
// Messages never carry the offending value: PINs, PANs, keys and cryptograms must not reach
// a log line through an error message (STYLE.md, "Limits and safety").

export type CryptoInputErrorCode =
  /** A key has the wrong length for the algorithm it is used with. */
  | 'key_length'
  /** A data field (block, ATC, ARC, cryptogram, IV, PSN...) has the wrong length or shape. */
  | 'data_length'
  /** A cleartext PIN is not 4 to 12 decimal digits. */
  | 'pin_format'
  /** A PAN is not 8 to 19 decimal digits, or a PAN sequence number is not 2 digits. */
  | 'pan_format'
  /** A decrypted PIN block does not follow its ISO 9564-1 format (control, length, filler). */
  | 'pin_block_format';

export class CryptoInputError extends Error {
  override readonly name = 'CryptoInputError';
  readonly code: CryptoInputErrorCode;
  /** Name of the argument that was refused, so a caller can map it to its own field. */
  readonly param: string;

  constructor(code: CryptoInputErrorCode, message: string, param: string) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

/** PANs are 8 to 19 digits (ISO/IEC 7812-1:2017, 4.1). */
export const PAN_DIGITS_MIN = 8;
export const PAN_DIGITS_MAX = 19;

export function assertPan(pan: string, param = 'pan'): void {
  if (typeof pan !== 'string' || !/^\d+$/.test(pan) || pan.length < PAN_DIGITS_MIN || pan.length > PAN_DIGITS_MAX) {
    throw new CryptoInputError('pan_format', `PAN must be ${PAN_DIGITS_MIN} to ${PAN_DIGITS_MAX} decimal digits`, param);
  }
}

/** ISO 9564-1: a PIN is 4 to 12 decimal digits. */
export const PIN_DIGITS_MIN = 4;
export const PIN_DIGITS_MAX = 12;

export function assertPin(pin: string, param = 'pin'): void {
  if (typeof pin !== 'string' || !/^\d+$/.test(pin) || pin.length < PIN_DIGITS_MIN || pin.length > PIN_DIGITS_MAX) {
    throw new CryptoInputError('pin_format', `PIN must be ${PIN_DIGITS_MIN} to ${PIN_DIGITS_MAX} decimal digits`, param);
  }
}

export function assertLength(value: Buffer, lengthBytes: number, param: string): void {
  if (!Buffer.isBuffer(value) || value.length !== lengthBytes) {
    throw new CryptoInputError('data_length', `${param} must be ${lengthBytes} bytes`, param);
  }
}
