// The user's own actions on a device card from the phone (issue 12, item 6): suspend, resume,
// delete, through the platform's routes (`POST /v1/device-cards/:id/suspend|resume`,
// `DELETE /v1/device-cards/:id`), then a sync so the phone's secure element matches: a suspended
// card cannot pay, a deleted one is wiped with its keys.
import { PhoneError } from './errors.ts';
import type { MiPhone } from './phone.ts';
import { PlatformClient } from '../platform/client.ts';
import { sync, type SyncResult } from './wallet.ts';

export type CardAction = 'suspend' | 'resume' | 'delete';
export const cardActions: readonly CardAction[] = ['suspend', 'resume', 'delete'];

/** `card` is the device card's id or its token's last 4, as `mipay phone cards` shows them. */
export async function changeCard(phone: MiPhone, input: { card: string; action: CardAction }): Promise<{ status: string; sync: SyncResult }> {
  if (!cardActions.includes(input.action)) throw new PhoneError('parameter_invalid', 'The action is suspend, resume or delete.', 'action');
  const token = phone.state.session?.token;
  if (!token) throw new PhoneError('not_logged_in', 'Log in first: `npx mipay phone login`.');
  const matches = phone.state.cards.filter((c) => c.id === input.card || c.tokenLast4 === input.card);
  if (matches.length !== 1) {
    const known = phone.state.cards.map((c) => `****${c.tokenLast4}`).join(', ') || 'none';
    throw new PhoneError('card_not_found', `${matches.length > 1 ? 'Several' : 'No'} cards on this phone match ${input.card}; its cards: ${known}.`, 'card');
  }
  const card = matches[0]!;
  const platform = new PlatformClient(phone.state.platformUrl);
  const path = `/v1/device-cards/${encodeURIComponent(card.id)}`;
  const changed = input.action === 'delete'
    ? await platform.call<{ status: string }>({ method: 'DELETE', path, token })
    : await platform.call<{ status: string }>({ method: 'POST', path: `${path}/${input.action}`, token });
  return { status: changed.status, sync: await sync(phone) };
}
