import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { MemoryRateLimitStore, type RateLimitStore } from '../../infra/http/rate-limit.ts';
import { newId } from '../../infra/ids.ts';
import { errors } from '../errors.ts';
import { lockStateOf, recordFailure, recordSuccess, type Lockout } from '../lockout.ts';
import { hashPassword, verifyPassword } from '../passwords.ts';
import { seal, unseal } from '../sealing.ts';
import type { PlatformTables } from '../tables.ts';
import type { StaffAudit } from './audit.ts';
import { staffRoles, type StaffRole, type StaffTables } from './tables.ts';
import { matchTotp, newTotpSecret, otpauthUri } from './totp.ts';

export type StaffMember = StaffTables['staff'] & { roles: StaffRole[] };
export type StaffSession = StaffTables['staff_sessions'];

/** A staff session lasts at most 8 hours (a working day) and ends after 30 minutes unused. */
export const staffSessionLifetimeMs = 8 * 3_600_000;
export const staffSessionIdleMs = 30 * 60_000;
/** `last_seen_at` is written at most this often; far below the idle limit, so it stays exact enough. */
const lastSeenResolutionMs = 30_000;
/** Five wrong logins (password or code) in a row lock a staff account for an hour: staff accounts see user data. */
export const staffLoginLockout = { triesMax: 5, lockMs: 3_600_000 } as const;
const totpIssuer = 'Mi Pay Open ops';

/** A staff password: 12–128 characters with a letter and a digit (staff see user data: longer than users'). */
export function checkStaffPassword(password: string, param = 'password'): void {
  if (password.length < 12 || password.length > 128 || !/[A-Za-z]/.test(password) || !/[0-9]/.test(password)) {
    throw errors.staff_password_too_weak('A staff password needs 12 to 128 characters with at least one letter and one digit.', param);
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function totpAad(staffId: string): string {
  return `platform.staff.${staffId}.totp_secret`;
}

let decoyHash: Promise<string> | undefined;

/**
 * Staff accounts, their roles and sessions. Logging in takes the email, the password and a TOTP
 * code together; a session token (`mpo_…`) is stored only as a hash and lives 8 hours, 30
 * minutes idle. Every change and every login is written to the audit log.
 */
export class StaffService {
  readonly #db: Kysely<StaffTables>;
  readonly #audit: StaffAudit;
  readonly #totpKey: Buffer;
  readonly #clock: () => Date;
  readonly #unknownEmailFailures: RateLimitStore;

  constructor(options: { db: Kysely<any>; audit: StaffAudit; totpKey: Buffer; clock: () => Date; unknownEmailFailures?: RateLimitStore }) {
    assert.equal(options.totpKey.length, 32, 'the staff TOTP sealing key is 32 bytes');
    this.#db = options.db as Kysely<StaffTables>;
    this.#audit = options.audit;
    this.#totpKey = options.totpKey;
    this.#clock = options.clock;
    this.#unknownEmailFailures = options.unknownEmailFailures ?? new MemoryRateLimitStore({ clock: options.clock });
  }

  /**
   * Creates a staff member (the CLI for the first admin; admins for the others). Answers the TOTP
   * secret and its otpauth URI: shown once to be put in an authenticator app, stored only sealed.
   */
  async create(input: { email: string; name: string; password: string; roles: readonly StaffRole[]; createdBy: string | null; ip?: string | null }):
    Promise<{ staff: StaffMember; totpSecret: Buffer; otpauthUri: string }> {
    const email = input.email.trim().toLowerCase();
    checkStaffPassword(input.password);
    const roles = [...new Set(input.roles)].sort();
    assert.ok(roles.length > 0 && roles.every((r) => staffRoles.includes(r)), 'a staff member has at least one known role');
    const passwordHash = await hashPassword(input.password);
    const now = this.#clock();
    const id = newId('stf', now.getTime());
    const secret = newTotpSecret();
    const row: StaffTables['staff'] = {
      id, email, name: input.name, password_hash: passwordHash, totp_secret_sealed: seal(this.#totpKey, secret, totpAad(id)).toString('base64'),
      totp_last_step: null, status: 'active', login_failed_count: 0, login_locked_until: null, created_at: now, disabled_at: null,
    };
    await transactionWithRetry(this.#db, async (trx) => {
      if (await trx.selectFrom('staff').select('id').where('email', '=', email).executeTakeFirst()) {
        throw errors.staff_email_taken('A staff member already has this email.', 'email');
      }
      await trx.insertInto('staff').values(row).execute();
      await trx.insertInto('staff_roles').values(roles.map((role) => ({ staff_id: id, role, granted_at: now }))).execute();
      await this.#audit.record({
        staffId: input.createdBy, action: 'staff.create', subjectType: 'staff', subjectId: id, details: { email, roles }, ip: input.ip ?? null,
      }, trx);
    });
    return { staff: { ...row, roles }, totpSecret: secret, otpauthUri: otpauthUri(secret, email, totpIssuer) };
  }

  async get(staffId: string): Promise<StaffMember | undefined> {
    const row = await this.#db.selectFrom('staff').selectAll().where('id', '=', staffId).executeTakeFirst();
    return row ? { ...row, roles: await this.#rolesOf(row.id) } : undefined;
  }

  async list(limit: number): Promise<StaffMember[]> {
    assert.ok(limit >= 1 && limit <= 200);
    const rows = await this.#db.selectFrom('staff').selectAll().orderBy('id').limit(limit).execute();
    const roles = rows.length === 0 ? [] : await this.#db.selectFrom('staff_roles').selectAll().where('staff_id', 'in', rows.map((r) => r.id)).execute();
    return rows.map((row) => ({ ...row, roles: roles.filter((r) => r.staff_id === row.id).map((r) => r.role).sort() }));
  }

  /** Replaces a staff member's roles (admins only, audited); an admin cannot take away their own admin role. */
  async setRoles(actorId: string, staffId: string, roles: readonly StaffRole[], ip: string | null): Promise<StaffMember> {
    const wanted = [...new Set(roles)].sort();
    if (actorId === staffId && !wanted.includes('admin')) {
      throw errors.staff_change_refused('An admin cannot remove their own admin role; another admin must.', 'roles');
    }
    const now = this.#clock();
    await transactionWithRetry(this.#db, async (trx) => {
      const target = await trx.selectFrom('staff').select('id').where('id', '=', staffId).forUpdate().executeTakeFirst();
      if (!target) throw errors.not_found('No staff member with this id.', 'id');
      const before = (await trx.selectFrom('staff_roles').select('role').where('staff_id', '=', staffId).execute()).map((r) => r.role).sort();
      await trx.deleteFrom('staff_roles').where('staff_id', '=', staffId).execute();
      await trx.insertInto('staff_roles').values(wanted.map((role) => ({ staff_id: staffId, role, granted_at: now }))).execute();
      await this.#audit.record({ staffId: actorId, action: 'staff.roles.set', subjectType: 'staff', subjectId: staffId, details: { before, after: wanted }, ip }, trx);
    });
    return (await this.get(staffId))!;
  }

  /** Disables a staff member (admins only, audited): their sessions end at once and they cannot log in. */
  async disable(actorId: string, staffId: string, ip: string | null): Promise<StaffMember> {
    if (actorId === staffId) throw errors.staff_change_refused('An admin cannot disable their own account; another admin must.', 'id');
    const now = this.#clock();
    await transactionWithRetry(this.#db, async (trx) => {
      const updated = await trx.updateTable('staff').set({ status: 'disabled', disabled_at: now }).where('id', '=', staffId)
        .where('status', '=', 'active').executeTakeFirst();
      if (updated.numUpdatedRows === 0n) {
        const exists = await trx.selectFrom('staff').select('id').where('id', '=', staffId).executeTakeFirst();
        if (!exists) throw errors.not_found('No staff member with this id.', 'id');
        return;
      }
      await trx.updateTable('staff_sessions').set({ revoked_at: now }).where('staff_id', '=', staffId).where('revoked_at', 'is', null).execute();
      await this.#audit.record({ staffId: actorId, action: 'staff.disable', subjectType: 'staff', subjectId: staffId, ip }, trx);
    });
    return (await this.get(staffId))!;
  }

  /**
   * Email, password and TOTP code checked together; a failure never says which was wrong. Wrong
   * tries count toward the lock; an unknown email locks the same way, so the lock tells nothing.
   */
  async logIn(input: { email: string; password: string; totpCode: string; ip: string | null; userAgent?: string | undefined }):
    Promise<{ token: string; session: StaffSession; staff: StaffMember }> {
    const now = this.#clock();
    const email = input.email.trim().toLowerCase();
    const failed = () => errors.staff_login_failed('The email, the password or the authenticator code is wrong.');
    const locked = (until?: Date) => errors.staff_login_locked('Too many failed logins; this staff login is locked for a while.', undefined,
      until ? { locked_until: until.toISOString() } : undefined);
    const row = await this.#db.selectFrom('staff').selectAll().where('email', '=', email).executeTakeFirst();
    if (!row || row.status !== 'active') {
      decoyHash ??= hashPassword('decoy-staff-password-0');
      await verifyPassword(await decoyHash, input.password);
      const { count, resetInMs } = await this.#unknownEmailFailures.hit(`staff-login-unknown:${email}`, staffLoginLockout.lockMs);
      if (count >= staffLoginLockout.triesMax) throw locked(new Date(now.getTime() + resetInMs));
      throw failed();
    }
    const lockout: Lockout = { table: 'staff', failedColumn: 'login_failed_count', lockedUntilColumn: 'login_locked_until', ...staffLoginLockout };
    const platformDb = this.#db as unknown as Kysely<PlatformTables>;
    const lock = lockStateOf({ failed: row.login_failed_count, lockedUntil: row.login_locked_until }, now);
    if (lock.locked) throw locked(lock.lockedUntil);
    const passwordRight = await verifyPassword(row.password_hash, input.password);
    const secret = unseal(this.#totpKey, Buffer.from(row.totp_secret_sealed, 'base64'), totpAad(row.id));
    const step = matchTotp(secret, input.totpCode, now, row.totp_last_step === null ? null : BigInt(row.totp_last_step));
    if (!passwordRight || step === undefined) {
      const after = await recordFailure(platformDb, lockout, row.id, now);
      await this.#audit.record({ staffId: row.id, action: 'staff.login_failed', subjectType: 'staff', subjectId: row.id, ip: input.ip });
      if (after.locked) throw locked(after.lockedUntil);
      throw failed();
    }
    // The step is taken with a conditional update, so two logins racing with one code cannot both pass.
    const taken = await this.#db.updateTable('staff').set({ totp_last_step: step }).where('id', '=', row.id)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)])).executeTakeFirst();
    if (taken.numUpdatedRows === 0n) throw failed();
    if (!(await recordSuccess(platformDb, lockout, row.id, now))) throw locked();
    const token = `mpo_${randomBytes(32).toString('base64url')}`;
    const session: StaffSession = {
      id: newId('sss', now.getTime()), staff_id: row.id, token_hash: hashToken(token), ip: input.ip, user_agent: input.userAgent?.slice(0, 256) ?? null,
      created_at: now, last_seen_at: now, expires_at: new Date(now.getTime() + staffSessionLifetimeMs), revoked_at: null,
    };
    await transactionWithRetry(this.#db, async (trx) => {
      await trx.insertInto('staff_sessions').values(session).execute();
      await this.#audit.record({ staffId: row.id, action: 'staff.login', subjectType: 'staff_session', subjectId: session.id, ip: input.ip }, trx);
    });
    return { token, session, staff: { ...row, roles: await this.#rolesOf(row.id) } };
  }

  /** The live session a staff token names, or undefined (unknown, revoked, past 8 hours, idle 30 minutes, staff disabled). */
  async authenticate(token: string): Promise<{ session: StaffSession; staff: StaffMember } | undefined> {
    if (!token.startsWith('mpo_')) return undefined;
    const now = this.#clock();
    const session = await this.#db.selectFrom('staff_sessions').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!session || session.revoked_at) return undefined;
    if (session.expires_at.getTime() <= now.getTime() || now.getTime() - session.last_seen_at.getTime() >= staffSessionIdleMs) return undefined;
    const staff = await this.get(session.staff_id);
    if (!staff || staff.status !== 'active') return undefined;
    if (now.getTime() - session.last_seen_at.getTime() > lastSeenResolutionMs) {
      await this.#db.updateTable('staff_sessions').set({ last_seen_at: now }).where('id', '=', session.id).execute();
    }
    return { session, staff };
  }

  async logOut(staffId: string, sessionId: string, ip: string | null): Promise<void> {
    await transactionWithRetry(this.#db, async (trx) => {
      await trx.updateTable('staff_sessions').set({ revoked_at: this.#clock() }).where('id', '=', sessionId).where('staff_id', '=', staffId)
        .where('revoked_at', 'is', null).execute();
      await this.#audit.record({ staffId, action: 'staff.logout', subjectType: 'staff_session', subjectId: sessionId, ip }, trx);
    });
  }

  /**
   * Changes one's own password: the current password and a fresh TOTP code again (a stolen
   * session alone cannot change it). Wrong tries count toward the login lock. Every other session
   * of the staff member ends. Audited as `staff.password.change`.
   */
  async changePassword(staffId: string, sessionId: string, input: { currentPassword: string; newPassword: string; totpCode: string }, ip: string | null): Promise<void> {
    checkStaffPassword(input.newPassword, 'new_password');
    const row = await this.#db.selectFrom('staff').selectAll().where('id', '=', staffId).executeTakeFirstOrThrow();
    const now = this.#clock();
    const lockout: Lockout = { table: 'staff', failedColumn: 'login_failed_count', lockedUntilColumn: 'login_locked_until', ...staffLoginLockout };
    const platformDb = this.#db as unknown as Kysely<PlatformTables>;
    const lock = lockStateOf({ failed: row.login_failed_count, lockedUntil: row.login_locked_until }, now);
    if (lock.locked) throw errors.staff_login_locked('Too many failed tries; this staff login is locked for a while.', undefined, { locked_until: lock.lockedUntil.toISOString() });
    const passwordRight = await verifyPassword(row.password_hash, input.currentPassword);
    const secret = unseal(this.#totpKey, Buffer.from(row.totp_secret_sealed, 'base64'), totpAad(row.id));
    const step = matchTotp(secret, input.totpCode, now, row.totp_last_step === null ? null : BigInt(row.totp_last_step));
    if (!passwordRight || step === undefined) {
      await recordFailure(platformDb, lockout, row.id, now);
      throw errors.staff_login_failed('The current password or the authenticator code is wrong.');
    }
    const passwordHash = await hashPassword(input.newPassword);
    await transactionWithRetry(this.#db, async (trx) => {
      const taken = await trx.updateTable('staff').set({ totp_last_step: step, password_hash: passwordHash, login_failed_count: 0 }).where('id', '=', row.id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)])).executeTakeFirst();
      if (taken.numUpdatedRows === 0n) throw errors.staff_login_failed('The current password or the authenticator code is wrong.');
      await trx.updateTable('staff_sessions').set({ revoked_at: now }).where('staff_id', '=', staffId).where('id', '!=', sessionId)
        .where('revoked_at', 'is', null).execute();
      await this.#audit.record({ staffId, action: 'staff.password.change', subjectType: 'staff', subjectId: staffId, ip }, trx);
    });
  }

  async #rolesOf(staffId: string): Promise<StaffRole[]> {
    return (await this.#db.selectFrom('staff_roles').select('role').where('staff_id', '=', staffId).execute()).map((r) => r.role).sort();
  }
}
