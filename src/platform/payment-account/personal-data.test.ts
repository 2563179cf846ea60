import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { apiClient, issueCard, openPaymentAccount, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { createMemoryKeyring } from '../../infra/keys/keyring.ts';
import { PersonalDataVault, personalDataKeysFrom } from './personal-data.ts';

/** Every row of every table of the platform's schema, as text (byte columns in hex). */
async function platformRowsAsText(system: TestSystem): Promise<string> {
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'platform' and table_type = 'BASE TABLE'`
    .execute(system.database.root);
  assert.ok(tables.rows.length > 10, 'the platform schema is found');
  const db = system.database.forSchema<any>('platform');
  const parts: string[] = [];
  for (const { table_name: table } of tables.rows) {
    const rows = await db.selectFrom(table).selectAll().execute();
    parts.push(JSON.stringify(rows, (_key, value) => (typeof value === 'bigint' ? String(value)
      : value && typeof value === 'object' && value.type === 'Buffer' && Array.isArray(value.data) ? Buffer.from(value.data).toString('hex') : value)));
  }
  return parts.join('\n');
}

describe('the holder\'s ID number, ID photo and address are kept sealed', () => {
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem();
  });
  after(() => system.close());

  test('no table holds them in clear, yet every check that needs them still works', async () => {
    const api = apiClient(system.platform.app);
    const h = await openPaymentAccount(system, { name: '冯十二', birthDate: '1992-02-02' });
    const photo = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(64)]);
    const address = '北京市东城区景山前街4号';
    const aml = {
      gender: 'male', occupation: '教师', nationality: 'CHN', id_type: 'resident_id', id_expiry: 'long_term',
      id_photo: { content_type: 'image/png', data_base64: photo.toString('base64') }, address,
    };
    assert.equal((await api('PUT', '/v1/payment-account/aml', { token: h.token, body: aml })).status, 200);

    const text = await platformRowsAsText(system);
    for (const [what, secret] of [['ID number', h.idNumber], ['address', address], ['ID photo (hex)', photo.toString('hex')], ['ID photo (base64)', photo.toString('base64')]] as const) {
      assert.equal(text.includes(secret), false, `the ${what} is not in any platform table in clear`);
    }
    // Shown masked; found by fingerprint (a second account with the same ID number is refused); opened for the bank.
    assert.equal((await api('GET', '/v1/payment-account', { token: h.token })).body.id_number_masked, `${h.idNumber[0]}${'*'.repeat(16)}${h.idNumber.at(-1)}`);
    const account = (await system.platform.paymentAccounts.findByUser(h.userId))!;
    assert.equal(system.platform.paymentAccounts.idNumberOf(account), h.idNumber);
    const other = await signUpAndLogIn(system);
    const card = await issueCard(system, { bank: 'CMB', name: '冯十二', idNumber: h.idNumber, phone: other.phone });
    const again = await api('POST', '/v1/payment-account/applications', {
      token: other.token, body: { name: '冯十二', id_number: h.idNumber.toLowerCase(), card_number: card, reserved_phone: other.phone },
    });
    assert.deepEqual([again.status, again.body.error.code, again.body.error.param], [409, 'identity_already_registered', 'id_number']);
  });

  test('rows an older version kept in clear are sealed at start, and still open', async () => {
    const h = await openPaymentAccount(system, { name: '陈十三', birthDate: '1985-05-05' });
    const db = system.database.forSchema<any>('platform');
    // What the 2026-11-22T0300 schema kept: the number in clear and no sealed columns.
    await db.updateTable('payment_accounts').set({ id_number: h.idNumber, id_number_sealed: null, id_number_fingerprint: null, id_number_masked: null, aml_address: '上海市黄浦区中山东一路1号' })
      .where('user_id', '=', h.userId).execute();
    assert.equal(await system.platform.paymentAccounts.sealClearTextPersonalData(), 1);
    assert.equal(await system.platform.paymentAccounts.sealClearTextPersonalData(), 0, 'nothing left in clear');
    const row = await db.selectFrom('payment_accounts').selectAll().where('user_id', '=', h.userId).executeTakeFirstOrThrow();
    assert.deepEqual([row.id_number, row.aml_address], [null, null]);
    assert.equal(system.platform.paymentAccounts.idNumberOf((await system.platform.paymentAccounts.findByUser(h.userId))!), h.idNumber);
    assert.equal((await apiClient(system.platform.app)('GET', '/v1/payment-account', { token: h.token })).body.id_number_masked, `${h.idNumber[0]}${'*'.repeat(16)}${h.idNumber.at(-1)}`);
  });
});

describe('PersonalDataVault', () => {
  const vault = new PersonalDataVault(personalDataKeysFrom(createMemoryKeyring()));

  test('a sealed value opens only for its own account and field, and not at all once altered', () => {
    const sealed = vault.seal('pa_1', 'id_number', Buffer.from('11010519491231002X'));
    assert.equal(vault.open('pa_1', 'id_number', sealed).toString(), '11010519491231002X');
    assert.throws(() => vault.open('pa_2', 'id_number', sealed));
    assert.throws(() => vault.open('pa_1', 'aml_address', sealed));
    const parts = sealed.split(':');
    const payload = Buffer.from(parts[3]!, 'base64');
    payload[payload.length - 1]! ^= 1;
    assert.throws(() => vault.open('pa_1', 'id_number', [...parts.slice(0, 3), payload.toString('base64')].join(':')));
    assert.notEqual(vault.seal('pa_1', 'id_number', Buffer.from('11010519491231002X')), sealed, 'a fresh data key and IV each time');
  });

  test('fingerprints ignore case and surrounding blanks, and compare in constant time', () => {
    const fingerprint = vault.idNumberFingerprint('11010519491231002X');
    assert.equal(vault.matchesIdNumber(fingerprint, ' 11010519491231002x '), true);
    assert.equal(vault.matchesIdNumber(fingerprint, '110105194912310037'), false);
  });
});
