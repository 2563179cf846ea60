/**
 * The phone as the cli (and test wiring) builds it: a virtual Mi phone with its secure-element
 * state file, the errors it answers with, and the wallet's results. Other parties import
 * ./client.ts instead.
 */
export { MiPhone, type CardSummary, type CreatePhoneOptions } from './phone.ts';
export { PhoneError, PlatformError, PlatformUnreachableError, type PhoneErrorCode } from './errors.ts';
export type { SyncResult } from './wallet.ts';
