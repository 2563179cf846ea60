import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { merchantCodeOf } from './merchant-code.ts';

let system: TestSystem;
before(async () => { system = await startTestSystem(); });
after(() => system.close());

const counter = () => system.database.forSchema<any>('platform').updateTable('merchant_code_counter');

test('merchant codes are drawn in turn: 15 digits, never the same twice', async () => {
  const made = await Promise.all(Array.from({ length: 40 }, (_, i) => system.platform.merchants.create({ name: `店${i}`, mcc: '5812' })));
  const codes = made.map((m) => m.merchant.code);
  assert.equal(new Set(codes).size, codes.length, 'all distinct, even created at once');
  for (const code of codes) assert.match(code, /^8983105812[0-9]{5}$/);
});

test('a code already taken (serials wrapped) is skipped: the next serial is drawn, the merchant is made', async () => {
  const first = await system.platform.merchants.create({ name: '小米之家', mcc: '5732' });
  const serial = Number(first.merchant.code.slice(-5));
  // Wind the counter back (as if 100,000 serials had gone by): the next two draws are taken codes.
  await counter().set({ next_serial: BigInt(serial - 1) }).where('id', '=', 1).execute();
  const earlier = await system.platform.merchants.create({ name: '小米之家 2', mcc: '5732' });
  assert.equal(earlier.merchant.code, merchantCodeOf('5732', serial - 1), 'no collision: drawn in turn');
  const second = await system.platform.merchants.create({ name: '小米之家 3', mcc: '5732' });
  assert.notEqual(second.merchant.code, first.merchant.code);
  assert.equal(second.merchant.code, merchantCodeOf('5732', serial + 1), 'the taken code was skipped');
  assert.equal(merchantCodeOf('5732', 100_000 + 7), merchantCodeOf('5732', 7), 'serials wrap at 100,000 (the unique index is the backstop)');
});
