import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrateSchema } from '../../infra/db/database.ts';
import { openTestDatabase } from '../../infra/db/test-database.ts';
import { platformMigrations, platformSchema } from './index.ts';

test('accounts made before Mi account numbers existed get distinct 10-digit numbers in the migration', async () => {
  const database = await openTestDatabase();
  try {
    const before = Object.fromEntries(Object.entries(platformMigrations).filter(([name]) => name < '2026-11-30T0701'));
    await migrateSchema(database, platformSchema, before);
    const db = database.forSchema<any>(platformSchema);
    const users = Array.from({ length: 50 }, (_, i) => ({
      id: `usr_legacy_${i}`, phone: `1380000${String(i).padStart(4, '0')}`, password_hash: 'x', nickname: 'legacy', avatar_url: null,
      status: 'active', login_failed_count: 0, login_locked_until: null, created_at: new Date(),
    }));
    await db.insertInto('users').values(users).execute();
    await migrateSchema(database, platformSchema, platformMigrations);
    const numbers = (await db.selectFrom('users').select('mi_number').execute()).map((u: { mi_number: string }) => u.mi_number);
    assert.equal(numbers.length, 50);
    assert.ok(numbers.every((n: string) => /^[1-9][0-9]{9}$/.test(n)));
    assert.equal(new Set(numbers).size, 50);
    await assert.rejects(db.updateTable('users').set({ mi_number: numbers[0] }).where('id', '=', 'usr_legacy_1').execute(), { code: '23505' });
  } finally {
    await database.close();
  }
});
