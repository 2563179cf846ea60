/**
 * Citizen identification numbers of the People's Republic of China (GB 11643-1999): 6 digits of
 * administrative division (GB/T 2260), 8 digits of birth date (YYYYMMDD), 3 digits of sequence
 * (odd for men, even for women) and one check character computed by ISO 7064:1983 MOD 11-2.
 */

const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const checkCharacters = '10X98765432';

/** Province-level codes of GB/T 2260 (the first two digits of a division code). */
const provinceCodes = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82', '83',
]);

export type ResidentIdProblem = 'format' | 'region' | 'birth_date' | 'check_digit';

export interface ResidentId {
  /** Normalised: 18 characters, the check character upper-case. */
  number: string;
  regionCode: string;
  /** ISO date, YYYY-MM-DD. */
  birthDate: string;
  gender: 'male' | 'female';
}

/** The check character of the first 17 digits (GB 11643-1999, 5.4; ISO 7064 MOD 11-2). */
export function residentIdCheckCharacter(first17: string): string {
  if (!/^[0-9]{17}$/.test(first17)) throw new TypeError('residentIdCheckCharacter takes 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * weights[i]!;
  return checkCharacters[sum % 11]!;
}

/**
 * Parses and checks an 18-character resident ID number (GB 11643-1999): format, province,
 * a birth date that exists and is not in the future, and the check character.
 */
export function parseResidentId(input: string, today: Date = new Date()): { ok: true; id: ResidentId } | { ok: false; problem: ResidentIdProblem; message: string } {
  const number = input.trim().toUpperCase();
  if (!/^[0-9]{17}[0-9X]$/.test(number)) {
    return { ok: false, problem: 'format', message: 'A resident ID number has 17 digits and a final digit or X.' };
  }
  if (!provinceCodes.has(number.slice(0, 2))) {
    return { ok: false, problem: 'region', message: 'The first two digits are not a province code of GB/T 2260.' };
  }
  const year = Number(number.slice(6, 10));
  const month = Number(number.slice(10, 12));
  const day = Number(number.slice(12, 14));
  const birth = new Date(Date.UTC(year, month - 1, day));
  const exists = birth.getUTCFullYear() === year && birth.getUTCMonth() === month - 1 && birth.getUTCDate() === day;
  if (!exists || year < 1800 || birth.getTime() > today.getTime()) {
    return { ok: false, problem: 'birth_date', message: 'Digits 7 to 14 are not a real birth date.' };
  }
  if (residentIdCheckCharacter(number.slice(0, 17)) !== number[17]) {
    return { ok: false, problem: 'check_digit', message: 'The check character (the 18th) does not match the first 17 digits.' };
  }
  return {
    ok: true,
    id: {
      number,
      regionCode: number.slice(0, 6),
      birthDate: `${number.slice(6, 10)}-${number.slice(10, 12)}-${number.slice(12, 14)}`,
      gender: (number.charCodeAt(16) - 48) % 2 === 1 ? 'male' : 'female',
    },
  };
}

/** Completed years of age on `today` (Beijing time) for a YYYY-MM-DD birth date. */
export function ageInYears(birthDate: string, today: Date = new Date()): number {
  // A birthday starts at midnight in China, whatever the server's time zone.
  const beijing = new Date(today.getTime() + 8 * 3600_000);
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  let age = beijing.getUTCFullYear() - y;
  const beforeBirthday = beijing.getUTCMonth() + 1 < m || (beijing.getUTCMonth() + 1 === m && beijing.getUTCDate() < d);
  if (beforeBirthday) age -= 1;
  return age;
}
