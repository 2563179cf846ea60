import { responseCodeMeaning } from '../../protocols/iso8583/response-codes.ts';

/** What the POS prints after a transaction (DESIGN section 5): never more of the card than its last 4 digits. */
export interface Receipt {
  kind: 'purchase' | 'authorization' | 'completion' | 'refund';
  approved: boolean;
  merchantName: string;
  merchantId: string;
  terminalId: string;
  cardLabel: string;
  cardLast4: string;
  aid: string;
  amountFen: bigint;
  stan: string;
  rrn: string | undefined;
  authCode: string | undefined;
  responseCode: string;
  responseText: string;
  cvm: 'online_pin' | 'cdcvm' | 'none';
  at: Date;
}

export function responseText(code: string): string {
  return responseCodeMeaning(code) ?? 'declined';
}

function yuan(amountFen: bigint): string {
  return `${amountFen / 100n}.${String(amountFen % 100n).padStart(2, '0')}`;
}

const kindTitle = { purchase: 'SALE 消费', authorization: 'PRE-AUTH 预授权', completion: 'PRE-AUTH COMPLETION 预授权完成', refund: 'REFUND 退货' } as const;
const cvmLine = { online_pin: 'PIN VERIFIED 密码验证', cdcvm: 'DEVICE VERIFIED 设备验证', none: 'NO SIGNATURE REQUIRED 免密免签' } as const;

/** The receipt as the POS printer's 32-column text. */
export function formatReceipt(receipt: Receipt): string {
  const when = receipt.at.toISOString().replace('T', ' ').slice(0, 19);
  return [
    '        银联 UnionPay POS',
    `MERCHANT  ${receipt.merchantName}`,
    `MERCH ID  ${receipt.merchantId}`,
    `TERMINAL  ${receipt.terminalId}`,
    // A completion reads no card: it takes the card of the pre-authorization it completes.
    receipt.kind === 'completion' ? `CARD      **** ${receipt.cardLast4}` : `CARD      ${receipt.cardLabel} **** ${receipt.cardLast4} (C)`,
    receipt.kind === 'completion' ? '' : `AID       ${receipt.aid}`,
    `TYPE      ${kindTitle[receipt.kind]}`,
    `AMOUNT    CNY ${yuan(receipt.amountFen)}`,
    `STAN      ${receipt.stan}`,
    `RRN       ${receipt.rrn ?? '-'}`,
    `AUTH CODE ${receipt.authCode ?? '-'}`,
    `DATE/TIME ${when} UTC`,
    `RESPONSE  ${receipt.responseCode} ${receipt.responseText}`,
    receipt.approved ? `          ${receipt.kind === 'refund' ? 'REFUNDED' : 'APPROVED'}` : '          DECLINED',
    receipt.approved && receipt.kind !== 'completion' ? cvmLine[receipt.cvm] : '',
  ].filter((line) => line !== '').join('\n');
}
