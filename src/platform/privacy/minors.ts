import { z } from 'zod';
import { chinaDate } from '../../infra/calendar/working-days.ts';
import { errors } from '../errors.ts';

/** A calendar date of birth, `YYYY-MM-DD`, that exists (no 30 February). */
export const birthDateField = z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) === d, 'not a calendar date')
  .describe('Date of birth, YYYY-MM-DD: Mi Pay serves adults only (privacy policy 六)');

/** Whole years of age on the China calendar day of `at`. */
export function ageOn(birthDate: string, at: Date): number {
  const today = chinaDate(at);
  const years = Number(today.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return today.slice(5) < birthDate.slice(5) ? years - 1 : years;
}

/**
 * Refuses someone under 18 (privacy policy 六) before anything about them is written, texted or
 * logged: the error names no phone and no date.
 */
export function refuseMinor(birthDate: string | undefined, at: Date): void {
  if (birthDate === undefined) return;
  if (birthDate > chinaDate(at)) throw errors.parameter_invalid('The date of birth is in the future.', 'birth_date');
  if (ageOn(birthDate, at) < 18) {
    throw errors.applicant_under_18('Mi Pay is for adults (18 and over); nothing about you was kept.', 'birth_date');
  }
}
