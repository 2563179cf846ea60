// Settlement of gate uploads. Every record's TAC is recomputed by the card's issuer (only it
// holds the TAC master key); a (card, offline ATC) is settled once — the primary key says so,
// inside one INSERT … ON CONFLICT DO NOTHING per chunk — and whatever is refused is kept with
// its reason. A T-Union card tapped at another T-Union city's gate goes through the clearing
// centre to its issuer, which verifies and settles it; the acquiring city never sees its keys.
import { timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { purchaseTac, type TransactionTypeId } from '../protocols/epurse/index.ts';
import type { RejectReason, TapRecord, UploadResult } from './client.ts';
import type { BrandOperator } from './operator.ts';
import type { TransitTables } from './tables.ts';

/** Rows per statement (the card lookup's IN list, the inserts). */
const CHUNK_ROWS = 5_000;
/** Records per upload; a gate uploads more often rather than more at once. */
export const UPLOAD_RECORDS_MAX = 20_000;

type Rejected = UploadResult['rejected'][number];

/** The T-Union clearing centre: routes a record to the operator that issued the card. */
export class ClearingCentre {
  readonly #issuers: BrandOperator[];

  constructor(operators: readonly BrandOperator[]) {
    this.#issuers = operators.filter((o) => o.brand.kind === 'tunion');
  }

  issuerOf(cardNumber: string): BrandOperator | undefined {
    return this.#issuers.find((o) => cardNumber.startsWith(o.brand.cardPrefix));
  }
}

function tacIsRight(issuer: BrandOperator, r: TapRecord): boolean {
  if (!/^[0-9a-fA-F]{8}$/.test(r.tac) || !/^[0-9a-fA-F]{12}$/.test(r.terminalId)) return false;
  const expected = purchaseTac(issuer.brand.algorithm, issuer.tacKey(r.cardNumber), {
    amountFen: r.amountFen, transactionType: r.transactionType as TransactionTypeId, terminalId: Buffer.from(r.terminalId, 'hex'),
    terminalSeq: r.terminalSeq, date: r.date, time: r.time,
  });
  return timingSafeEqual(expected, Buffer.from(r.tac, 'hex'));
}

/**
 * Settles one gate's upload at the acquiring operator: its own cards it verifies itself, other
 * cities' T-Union cards through the clearing centre; a city card of another brand is refused.
 */
export async function settleUpload(db: Kysely<TransitTables>, input: {
  acquirer: BrandOperator; clearing: ClearingCentre; gateId: string; records: readonly TapRecord[]; now: Date;
}): Promise<UploadResult> {
  const { acquirer, clearing, gateId, now } = input;
  const rejected: Rejected[] = [];
  const valid: { record: TapRecord; issuer: BrandOperator }[] = [];
  const numbers = [...new Set(input.records.map((r) => r.cardNumber))];
  const known = new Set<string>();
  for (let i = 0; i < numbers.length; i += CHUNK_ROWS) {
    const rows = await db.selectFrom('cards').select('card_number').where('card_number', 'in', numbers.slice(i, i + CHUNK_ROWS)).execute();
    for (const row of rows) known.add(row.card_number);
  }
  let cleared = 0;
  for (const record of input.records) {
    const reject = (reason: RejectReason) => rejected.push({ cardNumber: record.cardNumber, offlineSeq: record.offlineSeq, reason });
    const own = record.cardNumber.startsWith(acquirer.brand.cardPrefix);
    const issuer = own ? acquirer : acquirer.brand.kind === 'tunion' ? clearing.issuerOf(record.cardNumber) : undefined;
    if (!issuer) {
      reject(acquirer.brand.kind === 'tunion' || !known.has(record.cardNumber) ? 'unknown_card' : 'not_tunion');
      continue;
    }
    if (!known.has(record.cardNumber)) reject('unknown_card');
    else if (!tacIsRight(issuer, record)) reject('bad_tac');
    else valid.push({ record, issuer });
  }
  let settled = 0;
  for (let i = 0; i < valid.length; i += CHUNK_ROWS) {
    const chunk = valid.slice(i, i + CHUNK_ROWS);
    // One statement per chunk whatever its size: the columns travel as 14 arrays, unnested on the server.
    const col = <T>(f: (x: { record: TapRecord; issuer: BrandOperator }) => T) => chunk.map(f);
    const inserted = await db.insertInto('settled_records').columns([
      'card_number', 'offline_seq', 'issuer_brand', 'acquirer_brand', 'gate_id', 'amount_fen', 'transaction_type', 'terminal_id',
      'terminal_seq', 'tx_date', 'tx_time', 'tac', 'description', 'settled_at',
    ]).expression(sql`select * from unnest(
      ${col((x) => x.record.cardNumber)}::text[], ${col((x) => x.record.offlineSeq)}::int[], ${col((x) => x.issuer.brand.code)}::text[],
      ${col(() => acquirer.brand.code)}::text[], ${col(() => gateId)}::text[], ${col((x) => String(x.record.amountFen))}::bigint[],
      ${col((x) => x.record.transactionType)}::int[], ${col((x) => x.record.terminalId.toLowerCase())}::text[],
      ${col((x) => String(x.record.terminalSeq))}::bigint[], ${col((x) => x.record.date)}::text[], ${col((x) => x.record.time)}::text[],
      ${col((x) => x.record.tac.toLowerCase())}::text[], ${col((x) => x.record.description ?? null)}::text[], ${col(() => now.toISOString())}::timestamptz[]
    )`).onConflict((c) => c.columns(['card_number', 'offline_seq']).doNothing()).returning(['card_number', 'offline_seq']).execute();
    const fresh = new Set(inserted.map((r) => `${r.card_number}:${r.offline_seq}`));
    for (const { record, issuer } of chunk) {
      if (fresh.delete(`${record.cardNumber}:${record.offlineSeq}`)) {
        settled += 1;
        if (issuer !== acquirer) cleared += 1;
      } else {
        rejected.push({ cardNumber: record.cardNumber, offlineSeq: record.offlineSeq, reason: 'duplicate' });
      }
    }
  }
  const byKey = new Map(input.records.map((r) => [`${r.cardNumber}:${r.offlineSeq}`, r]));
  for (let i = 0; i < rejected.length; i += CHUNK_ROWS) {
    await db.insertInto('rejected_records').values(rejected.slice(i, i + CHUNK_ROWS).map((r) => ({
      card_number: r.cardNumber, offline_seq: r.offlineSeq, gate_id: gateId, reason: r.reason,
      tac: byKey.get(`${r.cardNumber}:${r.offlineSeq}`)?.tac ?? '', rejected_at: now,
    }))).execute();
  }
  return { settled, cleared, rejected };
}
