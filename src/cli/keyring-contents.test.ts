// A production keyring from `mipay keys init` holds every key the system reads; a sandbox
// database from before the keyring (keys in platform.tsp_keys and bank.issuer_keys, PINs as
// HMAC values) is upgraded by a writable keyring — keys moved, tables dropped, every sealed value
// and every PIN still good — and refused, with the reason, by a production one.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { after, describe, test } from 'node:test';
import { IssuerKeyStore, pinMatches } from '../bank/party.ts';
import { openTestDatabase } from '../infra/db/test-database.ts';
import { initKeyringFile } from '../infra/keys/keyring-admin.ts';
import { createMemoryKeyring, openFileKeyring, type Keyring } from '../infra/keys/keyring.ts';
import { createLogger } from '../infra/log/logger.ts';
import { detokenize } from '../network/tsp/vault.ts';
import { requiredKeys } from './keyring-contents.ts';
import { createSystem, type System } from './system.ts';
import { openPaymentAccount, provisionDeviceCard, registerDevice, startTestSystem } from './test-system.ts';

const dir = mkdtempSync(join(tmpdir(), 'mipay-keyring-contents-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ name: 'test', level: 'silent' });

/** Everything a system started (its servers, the network's workers and links), the database aside. */
async function closeApps(system: System): Promise<void> {
  await system.platform.app.close();
  await system.bank.app.close();
  await system.transit.app.close();
  await system.network.close();
  await system.bankAuthorization.endpoint.close();
}

describe('the keyring\'s contents', () => {
  test('a production (read-only) keyring made by `mipay keys init` has every key a start and a journey read', async () => {
    const path = join(dir, 'production.json');
    initKeyringFile(path, requiredKeys());
    const system = await startTestSystem({ keyring: openFileKeyring(path, { create: false }) });
    try {
      const holder = await openPaymentAccount(system, { name: '孙一' });
      const made = await provisionDeviceCard(system, holder, await registerDevice(system, holder.token), holder.cardId);
      assert.equal(made.status, 201, JSON.stringify(made.body));
      await system.bankAuthorization.personalizer.personalize(holder.cardNumber, { pin: '135246' });
    } finally {
      await system.close();
    }
  });

  test('a sandbox database with keys in its tables: a production start refuses; a sandbox start moves them to the keyring and every value still opens', async () => {
    const system = await startTestSystem({ keyring: createMemoryKeyring() });
    after(() => system.database.close().catch(() => undefined));
    const old: Keyring = system.keyring;
    const holder = await openPaymentAccount(system, { bank: 'CCB', name: '孙二' });
    const made = await provisionDeviceCard(system, holder, await registerDevice(system, holder.token), holder.cardId);
    assert.equal(made.status, 201);
    await closeApps(system);

    // Turn the database back into what the sandbox wrote before the keyring: the keys in two tables,
    // the personal-data KEK called pii-kek-1, the PIN as HMAC-SHA256(old PVK, "PAN:PIN"), and the
    // migration that drops the tables not yet run.
    const root = system.database.root;
    const pvkOld = randomBytes(32);
    await sql`create table platform.tsp_keys (id text primary key, key_hex text not null, created_at timestamptz not null)`.execute(root);
    await sql`create table bank.issuer_keys (bank_code text primary key, ac_algorithm text not null, imk_ac_hex text not null,
      zpk_hex text not null, pvk_hex text not null, created_at timestamptz not null)`.execute(root);
    const hex = (name: string, length: number) => old.key(name, length).toString('hex');
    for (const [id, key] of [['kek-1', old.keks('tsp.kek').byId('kek-1')!.toString('hex')], ['imk-ac-1', hex('tsp.imk-ac', 16)],
      ['pan-fingerprint-1', hex('tsp.pan-fingerprint', 32)], ['pii-kek-1', old.keks('platform.personal-data-kek').byId('kek-1')!.toString('hex')],
      ['pii-fingerprint-1', hex('platform.id-number-fingerprint', 32)]]) {
      await sql`insert into platform.tsp_keys values (${id}, ${key}, now())`.execute(root);
    }
    await sql`insert into bank.issuer_keys values ('CCB', 'tdes', ${hex('bank.ccb.imk-ac', 16)}, ${hex('bank.ccb.zpk', 16)}, ${pvkOld.toString('hex')}, now())`
      .execute(root);
    await sql`update platform.payment_accounts set id_number_sealed = 'v1:pii-kek-1' || substr(id_number_sealed, 9)`.execute(root);
    const legacyPvv = createHmac('sha256', pvkOld).update(`${holder.cardNumber}:4826`).digest('hex');
    await sql`insert into bank.card_authorization_state (pan, last_atc, pin_verification_value, pin_wrong_tries, held_fen)
      values (${holder.cardNumber}, 0, ${legacyPvv}, 0, 0) on conflict (pan) do update set pin_verification_value = ${legacyPvv}`.execute(root);
    await sql`delete from platform.kysely_migration where name = '2026-11-30T0200-keys-to-keyring'`.execute(root);
    await sql`delete from bank.kysely_migration where name = '2026-11-30T0200-keys-to-keyring'`.execute(root);

    const productionPath = join(dir, 'production-2.json');
    initKeyringFile(productionPath, requiredKeys());
    await assert.rejects(createSystem({ database: system.database, keyring: openFileKeyring(productionPath, { create: false }), logger }),
      /the database still holds keys \(platform.tsp_keys, bank.issuer_keys\)[\s\S]*production start refuses/);

    const sandboxPath = join(dir, 'sandbox.json');
    const upgraded = await createSystem({ database: system.database, keyring: openFileKeyring(sandboxPath, { create: true }), logger });
    try {
      const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name in ('tsp_keys', 'issuer_keys')`.execute(root);
      assert.equal(tables.rows[0]!.n, 0, 'the key tables are gone');
      const keyring = openFileKeyring(sandboxPath, { create: false });
      assert.deepEqual(keyring.keks('tsp.kek').byId('kek-1'), old.keks('tsp.kek').byId('kek-1'));
      assert.deepEqual(keyring.key('bank.ccb.imk-ac', 16), old.key('bank.ccb.imk-ac', 16));
      // The vault moved to the TSP's schema (src/network/tsp) and opens under the same keyring names.
      const tspDb = system.database.forSchema<any>('tsp');
      assert.equal((await detokenize(tspDb, upgraded.tsp.keys, made.body.token_number))?.pan, holder.cardNumber);
      const account = (await upgraded.platform.paymentAccounts.findByUser(holder.userId))!;
      assert.match(account.id_number_sealed, /^v1:kek-1:/);
      assert.equal(upgraded.platform.paymentAccounts.idNumberOf(account), holder.idNumber);
      const state = await sql<{ pin_verification_value: string }>`select pin_verification_value from bank.card_authorization_state where pan = ${holder.cardNumber}`
        .execute(root);
      const converted = state.rows[0]!.pin_verification_value;
      assert.match(converted, /^3624:[0-9]{4}$/, 'the PIN is now an IBM 3624 offset');
      const keys = await new IssuerKeyStore(keyring).keysFor('CCB');
      assert.equal(pinMatches(keys, holder.cardNumber, '4826', converted), true, 'the same PIN still verifies');
      assert.equal(pinMatches(keys, holder.cardNumber, '4827', converted), false);
      assert.throws(() => keyring.key('bank.ccb.legacy-pvk', 32), /no key/, 'the old PVK was not kept');
    } finally {
      await closeApps(upgraded);
    }
  });
});
