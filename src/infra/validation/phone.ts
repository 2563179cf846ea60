import { z } from 'zod';

/** Mainland China mobile numbers: 11 digits starting with 13–19 (MIIT numbering plan). */
export const mobilePhonePattern = /^1[3-9][0-9]{9}$/;

export const mobilePhone = z
  .string()
  .regex(mobilePhonePattern, 'a mainland China mobile number: 11 digits starting with 13 to 19')
  .describe('Mainland China mobile number, 11 digits');

/** 138****8000: the way a phone number appears to anyone but its owner. */
export function maskPhone(phone: string): string {
  return `${phone.slice(0, 3)}****${phone.slice(-4)}`;
}
