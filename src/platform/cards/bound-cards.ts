import type { Kysely } from 'kysely';
import type { VerifiedCard } from '../../bank/client.ts';
import { newId } from '../../infra/ids.ts';
import type { PlatformTables } from '../tables.ts';

export type BoundCard = PlatformTables['bound_cards'];

/**
 * Writes a bank card the bank has just verified as bound to the user's payment account. Its own
 * file so that opening a payment account (which binds its first card) and the card service both
 * use it without importing each other.
 */
export async function recordBoundCard(
  trx: Kysely<PlatformTables>,
  input: { userId: string; accountId: string; verified: VerifiedCard; now: Date },
): Promise<BoundCard> {
  const card: BoundCard = {
    id: newId('card'),
    user_id: input.userId,
    account_id: input.accountId,
    bank_code: input.verified.bankCode,
    bank_name: input.verified.bankName,
    card_kind: input.verified.kind,
    brand: input.verified.brand,
    last4: input.verified.last4,
    masked_number: input.verified.maskedNumber,
    card_ref: input.verified.cardRef,
    agreement_id: input.verified.agreementId,
    status: 'active',
    bound_at: input.now,
    unbound_at: null,
  };
  await trx.insertInto('bound_cards').values(card).execute();
  return card;
}
