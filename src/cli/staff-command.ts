import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { migrateSchema, type Database } from '../infra/db/database.ts';
import { openFileKeyring, type Keyring } from '../infra/keys/keyring.ts';
import { platformMigrations, platformSchema } from '../platform/migrations/index.ts';
import { StaffAudit } from '../platform/staff/audit.ts';
import { StaffService } from '../platform/staff/service.ts';
import { staffRoles, type StaffRole } from '../platform/staff/tables.ts';
import { base32Encode } from '../platform/staff/totp.ts';
import { databaseConfig, dataDir, keyringPath, runMode } from './config.ts';
import { acquireDataFolderLock } from './data-folder-lock.ts';
import { assertKeyringOutsideDataFolder, openSecuredDatabase } from './data-folder.ts';

/** Creates a staff member from the command line (the first admin); prints the secrets once. */
export async function createStaffMember(database: Database, keyring: Keyring, input: {
  email: string; name: string; roles: StaffRole[]; password?: string | undefined; clock?: () => Date;
}, write: (line: string) => void): Promise<{ staffId: string; password: string; totpSecret: Buffer }> {
  await migrateSchema(database, platformSchema, platformMigrations);
  const db = database.forSchema(platformSchema);
  const clock = input.clock ?? (() => new Date());
  const audit = new StaffAudit(db, clock);
  const staff = new StaffService({ db, audit, totpKey: keyring.key('platform.staff-totp', 32), clock });
  // A generated password is long and random; the staff member keeps it in a password manager.
  const password = input.password ?? `${randomBytes(18).toString('base64url')}9s`;
  const created = await staff.create({ email: input.email, name: input.name, password, roles: input.roles, createdBy: null });
  write(`staff member ${created.staff.id} (${created.staff.email}), roles: ${created.staff.roles.join(', ')}`);
  if (!input.password) write(`password      ${password}`);
  write(`TOTP secret   ${base32Encode(created.totpSecret)}`);
  write(`otpauth URI   ${created.otpauthUri}`);
  write('These are shown once: put the secret in an authenticator app now. Log in with POST /ops/v1/sessions.');
  return { staffId: created.staff.id, password, totpSecret: created.totpSecret };
}

/** Checks the whole audit chain; answers the process exit code (0 intact, 2 broken) after printing what it found. */
export async function verifyAuditLog(database: Database, write: (line: string) => void): Promise<number> {
  const audit = new StaffAudit(database.forSchema(platformSchema), () => new Date());
  const { entries, breaks } = await audit.verify();
  if (breaks.length === 0) {
    write(`audit log intact: ${entries} entries, chain and head verified`);
    return 0;
  }
  for (const b of breaks) write(`audit log BROKEN at seq ${b.seq}: ${b.problem}`);
  write(`${breaks.length} problem(s) in ${entries} entries: the log was changed outside the application`);
  return 2;
}

function roleList(value: string, previous: StaffRole[] = []): StaffRole[] {
  if (!(staffRoles as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${staffRoles.join(', ')}`);
  return [...previous, value as StaffRole];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function withDatabase<T>(command: string, work: (database: Database) => Promise<T>): Promise<T> {
  const config = databaseConfig();
  const lock = config.kind === 'pglite' ? acquireDataFolderLock(dataDir(), command) : undefined;
  const database = await openSecuredDatabase(config);
  try {
    return await work(database);
  } finally {
    await database.close();
    lock?.release();
  }
}

/** `mipay staff create` and `mipay staff audit verify` (README "Staff and the ops API"). */
export function registerStaffCommands(program: Command): void {
  const staff = program.command('staff').description('staff accounts of the ops console, and their audit log');
  staff
    .command('create')
    .description('create a staff member (how the first admin comes to be; staff never sign up over HTTP); prints the TOTP secret once')
    .requiredOption('--email <email>', 'the login email')
    .requiredOption('--name <name>', 'the staff member\'s name')
    .requiredOption('--role <role>', `a role, repeatable: ${staffRoles.join(', ')}`, roleList)
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--production', 'production mode (also MIPAY_MODE=production): the keyring must exist and is not written')
    .action(async (options: { email: string; name: string; role: StaffRole[]; passwordStdin?: boolean; production?: boolean }) => {
      const mode = runMode(options.production === true);
      assertKeyringOutsideDataFolder(keyringPath(), dataDir());
      const keyring = openFileKeyring(keyringPath(), { create: mode === 'sandbox' });
      const password = options.passwordStdin ? await readStdin() : undefined;
      await withDatabase('staff create', (database) => createStaffMember(database, keyring, {
        email: options.email, name: options.name, roles: options.role, password,
      }, (line) => process.stdout.write(`${line}\n`)));
    });
  staff
    .command('audit')
    .description('the staff audit log')
    .command('verify')
    .description('walk the hash chain of the staff audit log; exits 2 naming each changed, inserted or removed entry')
    .action(async () => {
      process.exitCode = await withDatabase('staff audit verify', (database) => verifyAuditLog(database, (line) => process.stdout.write(`${line}\n`)));
    });
}
