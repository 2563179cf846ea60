import { Command, InvalidArgumentError } from 'commander';
import type { Kysely } from 'kysely';
import type { Database } from '../infra/db/database.ts';
import { platformSchema } from '../platform/migrations/index.ts';
import { BreachRecords, type BreachRecord } from '../platform/privacy/breaches.ts';
import type { PrivacyDb } from '../platform/privacy/tables.ts';
import { databaseConfig, dataDir } from './config.ts';
import { acquireDataFolderLock } from './data-folder-lock.ts';
import { openSecuredDatabase } from './data-folder.ts';
import { migrateAll } from './system.ts';

/** Opens the database for one command and says how to let it go. */
export type DatabaseOpener = () => Promise<{ database: Database; release(): Promise<void> }>;

async function openForCommand(): Promise<{ database: Database; release(): Promise<void> }> {
  const config = databaseConfig();
  // PGlite is one process's database: while `mipay up` holds the folder, the command refuses.
  const lock = config.kind === 'pglite' ? acquireDataFolderLock(dataDir(), 'privacy') : undefined;
  const database = await openSecuredDatabase(config);
  await migrateAll(database);
  return { database, async release() { await database.close(); lock?.release(); } };
}

function instant(value: string): Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime()) || !/[zZ]|[+-][0-9]{2}:[0-9]{2}$/.test(value)) throw new InvalidArgumentError('an ISO 8601 time with its zone, e.g. 2026-12-07T10:00:00+08:00');
  return at;
}

function describe(b: BreachRecord): string {
  return [
    `${b.id}  occurred ${b.occurred_at.toISOString()}  discovered ${b.discovered_at.toISOString()}  recorded by ${b.recorded_by}`,
    `  ${b.description}`,
    `  data: ${b.data_categories}; people affected: ${b.affected_users_count}; measures: ${b.measures}`,
    `  regulator notified: ${b.regulator_notified_at ? `${b.regulator_notified_at.toISOString()} (${b.regulator_reference})` : 'not yet'}`,
    `  users notified: ${b.users_notified_at ? `${b.users_notified_at.toISOString()} by ${b.users_notification_channel}` : 'not yet'}`,
  ].join('\n');
}

/**
 * `mipay privacy breach …`: the operator's record of a personal-data breach and of the
 * notifications to the regulator and to the users (privacy policy 四(一)).
 */
export function registerPrivacyCommands(program: Command, open: DatabaseOpener = openForCommand, out: (text: string) => void = (t) => process.stdout.write(t)): void {
  const breach = program.command('privacy').description('privacy operations').command('breach')
    .description('personal-data breaches: record one, then when the regulator and the users were told');
  const withBreaches = async (work: (breaches: BreachRecords) => Promise<void>) => {
    const { database, release } = await open();
    try {
      await work(new BreachRecords(database.forSchema(platformSchema) as unknown as Kysely<PrivacyDb>, () => new Date()));
    } finally {
      await release();
    }
  };
  breach.command('record').description('record a breach')
    .requiredOption('--occurred-at <time>', 'when it happened (ISO 8601 with zone)', instant)
    .requiredOption('--discovered-at <time>', 'when it was discovered (ISO 8601 with zone)', instant)
    .requiredOption('--by <operator>', 'who records it')
    .requiredOption('--description <text>', 'what happened')
    .requiredOption('--data <categories>', 'which personal data (e.g. "phone numbers, nicknames")')
    .requiredOption('--affected <count>', 'how many people', (v) => {
      if (!/^[0-9]{1,9}$/.test(v)) throw new InvalidArgumentError('a whole number');
      return Number(v);
    })
    .requiredOption('--measures <text>', 'what was done about it')
    .action((o: { occurredAt: Date; discoveredAt: Date; by: string; description: string; data: string; affected: number; measures: string }) => withBreaches(async (b) => {
      const made = await b.record({ occurredAt: o.occurredAt, discoveredAt: o.discoveredAt, recordedBy: o.by, description: o.description,
        dataCategories: o.data, affectedUsersCount: o.affected, measures: o.measures });
      out(`${describe(made)}\n`);
    }));
  breach.command('regulator-notified').description('record when the regulator was told')
    .argument('<id>', 'the breach record (brc_…)')
    .requiredOption('--at <time>', 'when (ISO 8601 with zone)', instant)
    .requiredOption('--reference <text>', 'the regulator\'s reference')
    .action((id: string, o: { at: Date; reference: string }) => withBreaches(async (b) => out(`${describe(await b.regulatorNotified(id, o.at, o.reference))}\n`)));
  breach.command('users-notified').description('record when the affected users were told')
    .argument('<id>', 'the breach record (brc_…)')
    .requiredOption('--at <time>', 'when (ISO 8601 with zone)', instant)
    .requiredOption('--channel <channel>', 'how (SMS, in-app notice, e-mail)')
    .action((id: string, o: { at: Date; channel: string }) => withBreaches(async (b) => out(`${describe(await b.usersNotified(id, o.at, o.channel))}\n`)));
  breach.command('list').description('every breach record, newest discovery first')
    .action(() => withBreaches(async (b) => {
      const all = await b.list();
      out(all.length === 0 ? 'no breach recorded\n' : `${all.map(describe).join('\n')}\n`);
    }));
}
