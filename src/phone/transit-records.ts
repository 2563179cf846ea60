// The card's own transaction records (file 0x18), read offline from the secure element.
import { TRANSACTION_RECORD, TRANSACTION_TYPE } from '../protocols/epurse/index.ts';
import type { StoredTransitCard } from './phone-state.ts';

export interface CardRecord {
  kind: 'purchase' | 'load';
  seq: number;
  amountFen: bigint;
  date: string;
  time: string;
  description: string | null;
}

export const READ_RECORD_ANSWER = 'file 0x18';

export function readCardRecords(card: StoredTransitCard): CardRecord[] {
  return card.records.map((hex) => {
    const r = TRANSACTION_RECORD.decode(Buffer.from(hex, 'hex'));
    const kind = r.transactionType === TRANSACTION_TYPE.load ? 'load' as const : 'purchase' as const;
    return { kind, seq: r.seq, amountFen: r.amountFen, date: r.date, time: r.time, description: null };
  });
}
