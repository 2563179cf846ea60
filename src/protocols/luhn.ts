/**
 * Luhn check digit (ISO/IEC 7812-1:2017, Annex B, the "modulus 10, double-add-double" scheme)
 * used by every card number and token number.
 */
export function luhnCheckDigit(digitsWithoutCheck: string): number {
  if (!/^[0-9]+$/.test(digitsWithoutCheck)) throw new TypeError('luhnCheckDigit takes decimal digits');
  let sum = 0;
  // Walking from the right, the digit next to the (missing) check digit is doubled first.
  for (let i = digitsWithoutCheck.length - 1, double = true; i >= 0; i--, double = !double) {
    let digit = digitsWithoutCheck.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `number` is all digits and its last digit is its Luhn check digit (ISO/IEC 7812-1, Annex B). */
export function isLuhnValid(number: string): boolean {
  if (!/^[0-9]{2,}$/.test(number)) return false;
  return luhnCheckDigit(number.slice(0, -1)) === number.charCodeAt(number.length - 1) - 48;
}

/** Masks a card number for display: first 6 and last 4 at most (PCI DSS 3.4 display rule). */
export function maskCardNumber(number: string): string {
  if (number.length < 13) return `${'*'.repeat(Math.max(0, number.length - 4))}${number.slice(-4)}`;
  return `${number.slice(0, 6)}${'*'.repeat(number.length - 10)}${number.slice(-4)}`;
}
