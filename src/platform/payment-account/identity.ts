import { ageInYears, parseResidentId, type ResidentId } from '../../protocols/resident-id.ts';
import { isLuhnValid } from '../../protocols/luhn.ts';
import { errors } from '../errors.ts';

export const adultAgeYears = 18;

/** A resident ID number that passes GB 11643 and belongs to an adult, or a clear refusal. */
export function requireAdultResidentId(idNumber: string, today: Date, param = 'id_number'): ResidentId {
  const parsed = parseResidentId(idNumber, today);
  if (!parsed.ok) throw errors.id_number_invalid(`The ID number is invalid: ${parsed.message}`, param, { problem: parsed.problem });
  if (ageInYears(parsed.id.birthDate, today) < adultAgeYears) {
    throw errors.applicant_under_18('Payment accounts are open to adults only (18 and over).', param);
  }
  return parsed.id;
}

export function requireValidCardNumber(cardNumber: string, param = 'card_number'): void {
  if (!/^[0-9]{13,19}$/.test(cardNumber) || !isLuhnValid(cardNumber)) {
    throw errors.card_number_invalid('The card number must be 13 to 19 digits and pass the Luhn check.', param);
  }
}

/** 6 digits, not one digit repeated, not a run up or down (123456, 987654). */
export function requireStrongPaymentPassword(password: string, param = 'payment_password'): void {
  const weak = () => errors.payment_password_too_weak('The payment password must be 6 digits, not one repeated digit and not a run like 123456.', param);
  if (!/^[0-9]{6}$/.test(password)) throw weak();
  const digits = [...password].map(Number);
  const steps = new Set(digits.slice(1).map((d, i) => d - digits[i]!));
  if (steps.size === 1 && [...steps][0] !== undefined && Math.abs([...steps][0]!) <= 1) throw weak();
}

/** 张三 → *三; 欧阳娜娜 → ***娜: how a holder's name is shown. */
export function maskName(name: string): string {
  const chars = [...name];
  return chars.length <= 1 ? name : `${'*'.repeat(chars.length - 1)}${chars[chars.length - 1]}`;
}

/** 1****************X: the first and last characters only, as wallets show an ID number. */
export function maskIdNumber(idNumber: string): string {
  return `${idNumber.slice(0, 1)}****************${idNumber.slice(-1)}`;
}
