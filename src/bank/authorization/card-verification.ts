// Card-not-read entry: a card number keyed in by hand (entry mode 01x) is believed only with the
// card's expiry and its CVN2, the 3 digits printed on the back. The CVN2 is never stored: it is
// computed from the bank's card verification key (CVK, the keyring's `bank.<bank>.cvk`), the
// card number and the expiry, as the card's printer computed it.
import { cardVerificationValue, PRINTED_VALUE_SERVICE_CODE } from '../../protocols/crypto/index.ts';

/** The bank's CVKs by bank code: double-length 3DES keys handed to the bank as plain options. */
export type CardVerificationKeys = ReadonlyMap<string, Buffer>;

/** The CVN2 printed on a card (service code 000). */
export function printedCvn2(cvk: Buffer, pan: string, expiryYymm: string): string {
  return cardVerificationValue(cvk, pan, expiryYymm, PRINTED_VALUE_SERVICE_CODE);
}

/**
 * Why a keyed-in card number is refused, or undefined when its expiry (field 14) is the card's
 * and its CVN2 (field 48) is the one the CVK gives. Compared as the bank's own digits, so a
 * wrong guess costs as much as a right one.
 */
export function manualEntryRefusal(
  cvk: Buffer | undefined, pan: string, cardExpiryYymm: string, given: { expiryYymm: string | undefined; cvn2: string | undefined },
): 'NO_CVN2' | 'EXPIRY' | 'CVN2' | undefined {
  if (!cvk || !given.cvn2 || !/^[0-9]{3}$/.test(given.cvn2)) return 'NO_CVN2';
  if (given.expiryYymm !== cardExpiryYymm) return 'EXPIRY';
  return printedCvn2(cvk, pan, cardExpiryYymm) === given.cvn2 ? undefined : 'CVN2';
}
