import { BankError } from '../bank/client.ts';
import { errors } from './errors.ts';

/** The platform's words for the bank's refusals. */
export function bankRefusal(error: unknown): Error {
  if (!(error instanceof BankError)) return error as Error;
  const param = typeof error.details.param === 'string' ? error.details.param : undefined;
  const { param: _p, ...details } = error.details;
  switch (error.code) {
    case 'card_unknown_bin': return errors.card_bin_unknown('No supported bank issues cards with this BIN.', 'card_number');
    case 'card_not_found': return errors.card_not_found(error.message, 'card_number');
    case 'card_not_active': return errors.card_not_active(error.message, 'card_number', details);
    case 'card_expired': return errors.card_expired(error.message, 'card_number');
    case 'holder_name_mismatch': return errors.holder_name_mismatch(error.message, param === 'holder_name' ? 'name' : param);
    case 'id_number_mismatch': return errors.id_number_mismatch(error.message, 'id_number');
    case 'reserved_phone_mismatch': return errors.reserved_phone_mismatch(error.message, 'reserved_phone');
    case 'verification_not_found': return errors.verification_not_found(error.message, 'verification_id');
    case 'code_wrong': return errors.sms_code_wrong(error.message, 'sms_code', details);
    case 'code_expired': return errors.sms_code_expired(error.message, 'sms_code');
    case 'code_used': return errors.sms_code_used(error.message, 'sms_code');
    case 'code_burned': return errors.sms_code_burned(error.message, 'sms_code');
    case 'rate_limited': return errors.rate_limited(error.message, param ?? 'card_number', details);
    case 'bad_request': return errors.parameter_invalid(error.message, param);
    case 'unauthorized':
    case 'unavailable': return errors.bank_unavailable('The bank cannot verify cards right now; try again later.');
    case 'agreement_not_found': return errors.not_found('The bank no longer knows this card agreement.');
    // These two mean the platform sent a reference twice for different movements: a bug, not a user error.
    case 'reference_conflict':
    case 'reference_unknown': return new Error(`bank refused a movement reference: ${error.code}`);
  }
}

/** Runs a call to the bank, turning its refusals into the platform's API errors. */
export async function callBank<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw bankRefusal(error);
  }
}
