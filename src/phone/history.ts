// The phone's history of its device cards: what the platform's one history (`GET /v1/transactions`)
// says of this phone's cards' taps, refunds and declines, newest first. Only this phone's cards
// are asked for, one card with `card` (its id or its token's last 4).
import { PhoneError } from './errors.ts';
import type { MiPhone } from './phone.ts';
import { PlatformClient } from '../platform/client.ts';

/** What `mipay phone history` shows of one transaction. */
export interface PhoneHistoryLine {
  id: string; type: string; status: 'pending' | 'succeeded' | 'failed'; amountFen: number; merchantName: string; mcc: string;
  at: string; tokenLast4: string; bankName: string; responseCode: string; declineReason: string | null; refundOf: string | null;
}

interface WireTransaction {
  id: string; type: string; status: 'pending' | 'succeeded' | 'failed'; amount_fen: number; created_at: string; refund_of: string | null;
  merchant: { name: string; mcc: string } | null;
  device_card: { id: string; token_last4: string; bank_name: string; response_code: string; decline_reason: string | null } | null;
}

/** At most this many lines per card: the history is for looking at, the CSV for keeping. */
export const phoneHistoryLinesMax = 100;

export async function deviceCardHistory(phone: MiPhone, options: { card?: string | undefined; limit?: number } = {}): Promise<PhoneHistoryLine[]> {
  const token = phone.state.session?.token;
  if (!token) throw new PhoneError('not_logged_in', 'Log in first: `npx mipay phone login`.');
  const cards = phone.state.cards;
  const wanted = options.card === undefined ? cards : cards.filter((c) => c.id === options.card || c.tokenLast4 === options.card);
  if (options.card !== undefined && wanted.length !== 1) {
    const known = cards.map((c) => `****${c.tokenLast4}`).join(', ') || 'none';
    throw new PhoneError('card_not_found', `${wanted.length > 1 ? 'Several' : 'No'} cards on this phone match ${options.card}; its cards: ${known}.`, 'card');
  }
  const limit = Math.min(options.limit ?? 20, phoneHistoryLinesMax);
  const platform = new PlatformClient(phone.state.platformUrl);
  const lines: PhoneHistoryLine[] = [];
  for (const card of wanted) {
    const page = await platform.call<{ data: WireTransaction[] }>({
      method: 'GET', path: `/v1/transactions?device_card_id=${encodeURIComponent(card.id)}&limit=${limit}`, token,
    });
    for (const t of page.data) {
      if (!t.device_card) continue;
      lines.push({
        id: t.id, type: t.type, status: t.status, amountFen: t.amount_fen, merchantName: t.merchant?.name ?? '', mcc: t.merchant?.mcc ?? '',
        at: t.created_at, tokenLast4: t.device_card.token_last4, bankName: t.device_card.bank_name, responseCode: t.device_card.response_code,
        declineReason: t.device_card.decline_reason, refundOf: t.refund_of,
      });
    }
  }
  return lines.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, limit);
}

/** One line of `mipay phone history`. */
export function formatHistoryLine(line: PhoneHistoryLine): string {
  const yuan = `¥${(line.amountFen / 100).toFixed(2)}`;
  const outcome = line.status === 'succeeded' ? 'approved' : `declined ${line.responseCode}${line.declineReason ? ` ${line.declineReason}` : ''}`;
  const link = line.refundOf ? ` (${line.type === 'completion' ? 'completes' : line.type === 'reversal' ? 'reverses' : 'refund of'} ${line.refundOf})` : '';
  return `${line.at}  ${line.type.padEnd(10)} ${yuan.padStart(12)}  ${line.merchantName} [MCC ${line.mcc}]  ****${line.tokenLast4}  ${outcome}${link}`;
}
