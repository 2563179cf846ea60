// Issue 10 "Show": a KEK rotated under a running server. Rows sealed under kek-1; `mipay keys
// rotate-kek` (another process: its own keyring opened from the file) adds kek-2 and rewraps
// some rows; the server, never restarted, opens rows of both generations, seals new ones under
// kek-2, and its own batch job leaves every row on the newest KEK. Ciphertexts never change.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../infra/log/logger.ts';
import { addKekGeneration } from '../infra/keys/keyring-admin.ts';
import { openFileKeyring } from '../infra/keys/keyring.ts';
import { KekRewrap } from '../platform/kek-rewrap.ts';
import { PersonalDataVault } from '../platform/payment-account/personal-data.ts';
import { tspKeysFrom } from '../network/tsp/keys.ts';
import { rewrapVaultBatch } from '../network/tsp/vault.ts';
import { platformKeysFrom } from './keyring-contents.ts';
import { openPaymentAccount, provisionDeviceCard, registerDevice, startTestSystem, type AccountHolder, type TestSystem } from './test-system.ts';

describe('KEK rotation under a running server', () => {
  let dir: string;
  let keyringPath: string;
  let system: TestSystem;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mipay-rotation-'));
    keyringPath = join(dir, 'keyring.json');
    system = await startTestSystem({ keyring: openFileKeyring(keyringPath, { create: true }) });
  });
  after(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const db = () => system.database.forSchema<any>('platform');
  const tspDb = () => system.database.forSchema<any>('tsp');

  async function holderWithDeviceCard(name: string): Promise<{ holder: AccountHolder; tokenNumber: string }> {
    const holder = await openPaymentAccount(system, { name });
    const deviceId = await registerDevice(system, holder.token);
    const made = await provisionDeviceCard(system, holder, deviceId, holder.cardId);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    return { holder, tokenNumber: made.body.token_number };
  }

  /** What the running server reads back: the vault's PAN and the sealed ID number, through its own keys. */
  async function serverOpens(entry: { holder: AccountHolder; tokenNumber: string }): Promise<void> {
    const card = await system.tsp.detokenize(entry.tokenNumber);
    assert.equal(card?.pan, entry.holder.cardNumber);
    const account = (await system.platform.paymentAccounts.findByUser(entry.holder.userId))!;
    assert.equal(system.platform.paymentAccounts.idNumberOf(account), entry.holder.idNumber);
  }

  const generations = async () => ({
    vault: (await tspDb().selectFrom('token_vault').select('kek_id').execute()).map((r: { kek_id: string }) => r.kek_id).sort(),
    personalData: (await db().selectFrom('payment_accounts').select('id_number_sealed').execute())
      .map((r: { id_number_sealed: string }) => r.id_number_sealed.split(':')[1]).sort(),
  });
  const ciphertexts = async () => ({
    vault: (await tspDb().selectFrom('token_vault').select(['token_ref_id', 'pan_ciphertext']).orderBy('token_ref_id').execute()),
    personalData: (await db().selectFrom('payment_accounts').select(['id', 'id_number_sealed', 'aml_address_sealed']).orderBy('id').execute())
      .map((r: { id: string; id_number_sealed: string }) => [r.id, r.id_number_sealed.split(':')[3]!]),
  });

  test('old and new rows open throughout, new rows go under the new KEK, and the batch job leaves every row on it', async () => {
    const first = await holderWithDeviceCard('钱一');
    const second = await holderWithDeviceCard('钱二');
    assert.deepEqual(await generations(), { vault: ['kek-1', 'kek-1'], personalData: ['kek-1', 'kek-1'] });
    const sealedBefore = await ciphertexts();

    // `mipay keys rotate-kek`, as another process: new generations in the file, then one small batch of rewraps.
    assert.equal(addKekGeneration(keyringPath, 'tsp.kek'), 'kek-2');
    assert.equal(addKekGeneration(keyringPath, 'platform.personal-data-kek'), 'kek-2');
    const cliKeyring = openFileKeyring(keyringPath, { create: false });
    const cliKeys = platformKeysFrom(cliKeyring);
    const cli = new KekRewrap({
      db: db(), vault: (n) => rewrapVaultBatch(tspDb(), tspKeysFrom(cliKeyring), n), personalData: new PersonalDataVault(cliKeys.personalDataKeys), logger: createLogger({ name: 'test', level: 'silent' }),
    });
    assert.deepEqual(await cli.runOnce(1), { vault: 1, personalData: 1 });
    assert.deepEqual(await generations(), { vault: ['kek-1', 'kek-2'], personalData: ['kek-1', 'kek-2'] });

    // The server was never told: it meets kek-2 in a row, re-reads the keyring, and opens both generations.
    await serverOpens(first);
    await serverOpens(second);

    // New rows from the server go under kek-2 (it looks for a newer generation at most once a second).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const third = await holderWithDeviceCard('钱三');
    await serverOpens(third);
    assert.deepEqual((await generations()).vault, ['kek-1', 'kek-2', 'kek-2']);

    // The servers' own jobs finish the rotation in batches: the platform's personal data, the TSP's vault.
    assert.deepEqual(await system.platform.kekRewrap.runToCompletion(1), { vault: 0, personalData: 1 });
    assert.equal(await system.tsp.rewrapVault(1), 1);
    assert.equal(await system.tsp.rewrapVault(1), 0);
    assert.deepEqual(await generations(), { vault: ['kek-2', 'kek-2', 'kek-2'], personalData: ['kek-2', 'kek-2', 'kek-2'] });
    for (const entry of [first, second, third]) await serverOpens(entry);
    const sealedAfter = await ciphertexts();
    assert.deepEqual(sealedAfter.vault.filter((r: { token_ref_id: string }) => sealedBefore.vault.some((b: { token_ref_id: string }) => b.token_ref_id === r.token_ref_id)),
      sealedBefore.vault, 'vault ciphertexts untouched');
    assert.deepEqual(sealedAfter.personalData.filter(([id]) => sealedBefore.personalData.some(([b]) => b === id)),
      sealedBefore.personalData, 'sealed ID numbers untouched');
    assert.deepEqual(await system.platform.kekRewrap.runOnce(), { vault: 0, personalData: 0 }, 'nothing left to rewrap');
  });
});
