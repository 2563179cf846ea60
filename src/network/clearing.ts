import type { Kysely } from 'kysely';
import { networkStan, retrievalReference, type NetworkTables } from './tables.ts';
import { ResponseCode } from '../protocols/iso8583/response-codes.ts';

/**
 * The end-of-day clearing file for one business day (China time): every approved, unreversed
 * purchase, pre-authorization completion and refund, as CSV lines the issuers and acquirers
 * settle from.
 *
 *   H,MIPAYNET,<acquirer id>,<business date YYYY-MM-DD>,<generated at ISO 8601>
 *   D,<rrn>,<stan>,<local MMDD>,<local hhmmss>,<terminal>,<merchant>,<issuer>,<card first6…last4>,
 *     <SALE|COMPLETION|REFUND>,<amount fen>,156,<auth code>
 *   T,<detail count>,<sale count>,<sale total fen>,<refund count>,<refund total fen>,<net fen>
 *
 * Amounts are integer fen; the net is sales minus refunds, completions counting as sales.
 * Pre-authorizations (0100) are holds, not money movements, so they are not cleared; their
 * completions are. Card numbers are masked (the log keeps only first 6 + last 4): settlement matches on
 * RRN and STAN.
 */
export async function produceClearingFile(db: Kysely<NetworkTables>, options: { businessDate: string; acquirerId: string; now?: Date }): Promise<string> {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(options.businessDate)) throw new RangeError('the business date is YYYY-MM-DD');
  const rows = await db.selectFrom('transactions').selectAll()
    .where('business_date', '=', options.businessDate).where('kind', 'in', ['purchase', 'completion', 'refund'])
    .where('status', '=', 'answered').where('response_code', '=', ResponseCode.APPROVED).where('reversal_status', '=', 'none')
    .orderBy('id').execute();
  let saleCount = 0;
  let saleFen = 0n;
  let refundCount = 0;
  let refundFen = 0n;
  const lines = [`H,MIPAYNET,${options.acquirerId},${options.businessDate},${(options.now ?? new Date()).toISOString()}`];
  for (const row of rows) {
    if (row.kind === 'refund') {
      refundCount += 1;
      refundFen += row.amount_fen;
    } else {
      saleCount += 1;
      saleFen += row.amount_fen;
    }
    lines.push([
      'D', retrievalReference(row.id), networkStan(row.id), row.pos_date, row.pos_time, row.terminal_id.trim(), row.merchant_id.trim(),
      row.issuer_code ?? '', `${row.pan_first6}******${row.pan_last4}`, row.kind === 'refund' ? 'REFUND' : row.kind === 'completion' ? 'COMPLETION' : 'SALE', row.amount_fen.toString(), '156', row.auth_code ?? '',
    ].join(','));
  }
  lines.push(`T,${rows.length},${saleCount},${saleFen},${refundCount},${refundFen},${saleFen - refundFen}`);
  return `${lines.join('\n')}\n`;
}
