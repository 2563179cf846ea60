import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createLogger } from '../infra/log/logger.ts';
import { addKekGeneration, initKeyringFile } from '../infra/keys/keyring-admin.ts';
import { openFileKeyring } from '../infra/keys/keyring.ts';
import { KekRewrap, platformSchema } from '../platform/party.ts';
import { tspKeysFrom } from '../network/tsp/keys.ts';
import { tspSchema } from '../network/tsp/migrations/index.ts';
import { rewrapVaultBatch } from '../network/tsp/vault.ts';
import { PersonalDataVault } from '../platform/payment-account/personal-data.ts';
import { databaseConfig, describeDatabase, keyringPath } from './config.ts';
import { openSecuredDatabase } from './data-folder.ts';
import { platformKeysFrom, requiredKeys } from './keyring-contents.ts';

/** The KEKs `rotate-kek` knows: each wraps the data keys of one store. */
const rotatableKeks = ['tsp.kek', 'platform.personal-data-kek'] as const;

/** `mipay keys init` and `mipay keys rotate-kek` (README "The keyring"). */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('the keyring: every KEK and master key, outside the database');

  keys
    .command('init')
    .description('create a production keyring (MIPAY_KEYRING, mode 0600) holding every key the system needs; '
      + 'never overwrites one')
    .action(() => {
      const path = keyringPath();
      const names = initKeyringFile(path, requiredKeys());
      const list = names.map((n) => `  ${n}`).join('\n');
      process.stdout.write(`keyring ${path} created (mode 0600) with ${names.length} keys:\n${list}\n`
        + 'Back it up now, apart from the database backups: without it no vault row, sealed ID number or PIN offset '
        + 'can be used.\n');
    });

  keys
    .command('rotate-kek')
    .description('add a new KEK generation and rewrap every data key under it in batches, while the server runs; '
      + 'ciphertexts are untouched')
    .option('--kek <name>', `which KEK: ${rotatableKeks.join(' | ')} | all`, 'all')
    .option('--no-rewrap', 'only add the generation; the running server\'s kek-rewrap job moves the rows')
    .action(async (options: { kek: string; rewrap: boolean }) => {
      const names = options.kek === 'all' ? [...rotatableKeks] : [options.kek];
      if (!names.every((n) => (rotatableKeks as readonly string[]).includes(n))) {
        throw new InvalidArgumentError(`--kek is one of: ${rotatableKeks.join(', ')}, all`);
      }
      const path = keyringPath();
      for (const name of names) {
        process.stdout.write(`${name}: new generation ${addKekGeneration(path, name)} in ${path}\n`);
      }
      const config = databaseConfig();
      if (!options.rewrap || config.kind === 'pglite') {
        // PGlite is one process's database: while `mipay up` holds it, only the server may write it.
        process.stdout.write('the running server learns the new KEK on its next seal or unknown KEK id, '
          + 'and its kek-rewrap job '
          + 'moves every data key to it within seconds (or at its next start)\n');
        return;
      }
      const keyring = openFileKeyring(path, { create: false });
      const platformKeys = platformKeysFrom(keyring);
      const database = await openSecuredDatabase(config);
      try {
        const rewrap = new KekRewrap({
          db: database.forSchema(platformSchema),
          vault: (batchSizeMax) => rewrapVaultBatch(database.forSchema(tspSchema), tspKeysFrom(keyring), batchSizeMax),
          personalData: new PersonalDataVault(platformKeys.personalDataKeys),
          logger: createLogger({ name: 'mipay-keys', level: 'warn' }),
        });
        const moved = await rewrap.runToCompletion();
        process.stdout.write(`${describeDatabase(config)}: rewrapped ${moved.vault} vault rows `
          + `and ${moved.personalData} payment accounts\n`);
      } finally {
        await database.close();
      }
    });
}
