// The switch's transaction log writer against the real schema (both engines): requests and
// answers written together, duplicates, and a failed batch failing only the write that broke it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { migrateSchema, type Database } from '../infra/db/database.ts';
import { openTestDatabase } from '../infra/db/test-database.ts';
import { TransactionLogWriter, type LoggedRequest } from './log-writer.ts';
import { networkMigrations, networkSchema } from './migrations/index.ts';
import type { NetworkTables } from './tables.ts';

let database: Database;
let db: Kysely<NetworkTables>;
let writer: TransactionLogWriter;
before(async () => {
  database = await openTestDatabase();
  await migrateSchema(database, networkSchema, networkMigrations);
  db = database.forSchema<NetworkTables>(networkSchema);
  writer = new TransactionLogWriter(db);
});
after(() => database.close());

const request = (stan: string, overrides: Partial<LoggedRequest> = {}): LoggedRequest => ({
  terminal_id: 'LOGTEST1', terminal_stan: stan, pos_date: '1122', pos_time: '101010', pos_mti: '0200', kind: 'purchase', processing_code: '000000',
  merchant_id: '898110000000001', pan_first6: '622200', pan_last4: '0001', pan_hash: 'h1', pan_sealed: 's1', token_last4: null,
  token_hash: null, token_sealed: null, amount_fen: 1_234n, transmission: '1122101010', business_date: '2026-11-22',
  original_rrn: null, created_at: new Date(), ...overrides,
});
const answer = { status: 'answered' as const, response_code: '00', auth_code: '123456', response_fields: '{"39":"00"}', issuer_code: 'CCB', card: null, reversal_next_at: null };

describe('TransactionLogWriter', () => {
  it('logs requests and answers together, and answers a request logged twice (also in one batch) with undefined', async () => {
    const [first, copy, second] = await Promise.all([writer.insert(request('000001')), writer.insert(request('000001')), writer.insert(request('000002'))]);
    assert.equal(typeof first, 'bigint');
    assert.equal(copy, undefined);
    assert.equal(typeof second, 'bigint');
    // An answer and a new request at the same time.
    const [, third] = await Promise.all([writer.finish(first!, answer), writer.insert(request('000003'))]);
    assert.equal(typeof third, 'bigint');
    assert.equal(await writer.insert(request('000002')), undefined);
    const row = await db.selectFrom('transactions').selectAll().where('id', '=', first!).executeTakeFirstOrThrow();
    assert.equal(row.status, 'answered');
    assert.equal(row.response_code, '00');
    assert.equal(row.issuer_code, 'CCB');
    assert.deepEqual([row.pan_last4, row.pan_hash, row.pan_sealed], ['0001', 'h1', 's1'], 'an answer without a card keeps the logged one');
    assert.equal(row.reversal_status, 'none');
  });

  it('drops the sealed card number of a declined request, and takes the routed card of an answered one', async () => {
    const declined = await writer.insert(request('000030'));
    await writer.finish(declined!, { ...answer, response_code: '51', auth_code: null });
    const approved = await writer.insert(request('000031'));
    const card = { pan_first6: '621700', pan_last4: '0123', pan_hash: 'h2', pan_sealed: 's2', token_last4: '9999', token_hash: 't2', token_sealed: 'ts2' };
    await writer.finish(approved!, { ...answer, card });
    const rows = await db.selectFrom('transactions').select(['id', 'pan_last4', 'pan_hash', 'pan_sealed', 'token_hash'])
      .where('id', 'in', [declined!, approved!]).orderBy('id').execute();
    assert.deepEqual(rows.map((r) => [r.pan_last4, r.pan_hash, r.pan_sealed, r.token_hash]), [['0001', 'h1', null, null], ['0123', 'h2', 's2', 't2']]);
  });

  it('marks a timed-out request for reversal', async () => {
    const id = await writer.insert(request('000010'));
    const due = new Date();
    await writer.finish(id!, { ...answer, status: 'timed_out', response_code: '91', auth_code: null, reversal_next_at: due });
    const row = await db.selectFrom('transactions').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
    assert.equal(row.status, 'timed_out');
    assert.equal(row.reversal_status, 'pending');
    assert.equal(row.reversal_next_at?.getTime(), due.getTime());
  });

  it('fails only the write that breaks a constraint; the others in its batch are written', async () => {
    const results = await Promise.allSettled([
      writer.insert(request('000020')),
      writer.insert(request('000021', { kind: 'chargeback' as LoggedRequest['kind'] })),
      writer.insert(request('000022')),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    const stans = (await db.selectFrom('transactions').select('terminal_stan').where('terminal_stan', 'in', ['000020', '000021', '000022']).execute())
      .map((row) => row.terminal_stan).sort();
    assert.deepEqual(stans, ['000020', '000022']);
  });
});
