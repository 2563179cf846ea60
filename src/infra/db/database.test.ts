import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import { migrateSchema, preparedStatementName, transactionWithRetry, type Database } from './database.ts';
import { openTestDatabase } from './test-database.ts';

let database: Database;
before(async () => { database = await openTestDatabase(); });
after(() => database.close());

const migrations = {
  '2026-01-01T0000-counters': {
    async up(db: any) {
      await db.schema.createTable('counters').addColumn('id', 'text', (c: any) => c.primaryKey()).addColumn('value', 'bigint', (c: any) => c.notNull()).execute();
    },
  },
};

test('migrations run once, in their own schema', async () => {
  assert.deepEqual(await migrateSchema(database, 'dbtest', migrations), ['2026-01-01T0000-counters']);
  assert.deepEqual(await migrateSchema(database, 'dbtest', migrations), []);
  const tables = await sql<{ table_schema: string }>`select table_schema from information_schema.tables where table_name = 'counters'`.execute(database.root);
  assert.deepEqual(tables.rows.map((r) => r.table_schema), ['dbtest']);
});

test('int8 comes back as bigint, beyond 2^53', async () => {
  const db = database.forSchema<any>('dbtest');
  const big = 9_007_199_254_740_993n;
  await db.insertInto('counters').values({ id: 'big', value: big }).execute();
  const row = await db.selectFrom('counters').select('value').where('id', '=', 'big').executeTakeFirstOrThrow();
  assert.equal(row.value, big);
});

test('concurrent transactions each apply exactly once', async () => {
  const db = database.forSchema<any>('dbtest');
  await db.insertInto('counters').values({ id: 'c', value: 0n }).execute();
  await Promise.all(Array.from({ length: 20 }, () => transactionWithRetry(db, async (trx) => {
    const row = await trx.selectFrom('counters').select('value').where('id', '=', 'c').forUpdate().executeTakeFirstOrThrow();
    await trx.updateTable('counters').set({ value: row.value + 1n }).where('id', '=', 'c').execute();
  })));
  const row = await db.selectFrom('counters').select('value').where('id', '=', 'c').executeTakeFirstOrThrow();
  assert.equal(row.value, 20n);
});

test('a serialization failure is retried; other errors are not', async () => {
  const db = database.forSchema<any>('dbtest');
  let attempts = 0;
  const result = await transactionWithRetry(db, async () => {
    attempts += 1;
    if (attempts < 3) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
    return 'done';
  });
  assert.deepEqual([result, attempts], ['done', 3]);
  let plainAttempts = 0;
  await assert.rejects(transactionWithRetry(db, async () => { plainAttempts += 1; throw Object.assign(new Error('check violation'), { code: '23514' }); }), /check violation/);
  assert.equal(plainAttempts, 1);
});

test('on PostgreSQL, a parameterised text that repeats runs as a named prepared statement, prepared once per connection; a failed Parse is tried again; results stay right', async (t) => {
  if (database.kind !== 'postgres') return t.skip('PGlite runs in process: there is no per-call parse and plan to save');
  await database.forSchema<any>('dbtest').insertInto('counters').values({ id: 'p', value: 41n }).execute();
  assert.equal(preparedStatementName('select $1::int -- a text seen once'), undefined);
  await database.root.connection().execute(async (connection) => {
    const run = async <R>(text: string, parameters: unknown[]) => (await connection.executeQuery<R>(CompiledQuery.raw(text, parameters))).rows;
    const text = 'select value + $1::bigint as v from dbtest.counters where id = $2';
    const sums: bigint[] = [];
    for (let n = 1n; n <= 5n; n++) sums.push((await run<{ v: bigint }>(text, [n, 'p']))[0]!.v);
    assert.deepEqual(sums, [42n, 43n, 44n, 45n, 46n]);
    const prepared = await run<{ name: string }>('select name from pg_prepared_statements where statement = $1', [text]);
    assert.deepEqual(prepared.map((r) => r.name), [preparedStatementName(text)], 'prepared once on this connection, under its own name');

    // A text whose Parse fails (its table does not exist yet) is parsed again once it can be.
    const later = 'select count(*)::int as n from dbtest.later where id = $1';
    for (let i = 0; i < 4; i++) await assert.rejects(run(later, ['x']), /does not exist/);
    await run('create table dbtest.later (id text primary key)', []);
    assert.deepEqual(await run(later, ['x']), [{ n: 0 }]);
    assert.deepEqual(await run(later, ['x']), [{ n: 0 }]);

    // A migration changes a prepared statement's result columns under it (mipay migrate while mipay up runs).
    const everything = 'select * from dbtest.later where id <> $1';
    await run('insert into dbtest.later (id) values ($1)', ['a']);
    for (let i = 0; i < 4; i++) assert.deepEqual(await run(everything, ['x']), [{ id: 'a' }]);
    await run('alter table dbtest.later add column note text', []);
    assert.deepEqual(await run(everything, ['x']), [{ id: 'a', note: null }], 'outside a transaction: prepared again and run at once');
    await run('alter table dbtest.later add column tag text', []);
    await run('begin', []);
    await assert.rejects(run(everything, ['x']), /cached plan must not change result type/, 'inside one, the transaction fails like on any error');
    await run('rollback', []);
    assert.deepEqual(await run(everything, ['x']), [{ id: 'a', note: null, tag: null }], 'and the next run succeeds');
  });
});
