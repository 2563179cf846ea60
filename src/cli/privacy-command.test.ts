import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Command } from 'commander';
import { sql } from 'kysely';
import { registerPrivacyCommands } from './privacy-command.ts';
import { startTestSystem, type TestSystem } from './test-system.ts';

let system: TestSystem;
before(async () => { system = await startTestSystem(); });
after(() => system.close());

async function mipay(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command().exitOverride();
  registerPrivacyCommands(program, async () => ({ database: system.database, async release() {} }), (t) => { output += t; });
  await program.parseAsync(['node', 'mipay', ...args]);
  return output;
}

test('mipay privacy breach: record a breach, then when the regulator and the users were told', async () => {
  const hour = 3_600_000;
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const made = await mipay('privacy', 'breach', 'record', '--occurred-at', iso(now - 5 * hour), '--discovered-at', iso(now - 2 * hour),
    '--by', 'ops-duty', '--description', 'A misconfigured log shipper sent nicknames to a staging bucket',
    '--data', 'nicknames', '--affected', '120', '--measures', 'bucket deleted, shipper fixed');
  const id = made.match(/brc_[A-Za-z0-9]+/)?.[0];
  assert.ok(id, made);
  assert.match(made, /people affected: 120/);
  assert.match(made, /regulator notified: not yet/);
  assert.match(await mipay('privacy', 'breach', 'regulator-notified', id, '--at', iso(now - hour), '--reference', 'CAC-2026-0042'), /regulator notified: .*\(CAC-2026-0042\)/);
  await assert.rejects(mipay('privacy', 'breach', 'regulator-notified', id, '--at', iso(now - hour), '--reference', 'again'), /already recorded/);
  await assert.rejects(mipay('privacy', 'breach', 'users-notified', id, '--at', iso(now - 3 * hour), '--channel', 'SMS'), /between the discovery and now/);
  assert.match(await mipay('privacy', 'breach', 'users-notified', id, '--at', iso(now - hour / 2), '--channel', 'SMS'), /users notified: .* by SMS/);
  assert.match(await mipay('privacy', 'breach', 'list'), new RegExp(id));
  await assert.rejects(mipay('privacy', 'breach', 'record', '--occurred-at', 'yesterday', '--discovered-at', iso(now), '--by', 'x',
    '--description', 'x', '--data', 'x', '--affected', '1', '--measures', 'x'), /ISO 8601/);
  // The record names no one: its columns are counts, categories and times.
  const { rows } = await sql<{ column_name: string }>`select column_name from information_schema.columns
    where table_schema = 'platform' and table_name = 'breach_records'`.execute(system.database.forSchema('platform'));
  assert.ok(rows.length > 0 && !rows.some((r) => /user_id|phone/.test(r.column_name)));
});
