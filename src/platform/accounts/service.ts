import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { MemoryRateLimitStore, type RateLimitStore } from '../../infra/http/rate-limit.ts';
import { newId } from '../../infra/ids.ts';
import { ApiError } from '../../infra/http/errors.ts';
import { errors } from '../errors.ts';
import { lockStateOf, recordFailure, recordSuccess, type Lockout } from '../lockout.ts';
import { hashPassword, verifyPassword } from '../passwords.ts';
import type { PlatformTables } from '../tables.ts';
import { drawMiNumber } from './mi-number.ts';
import type { SmsCodes } from './sms-codes.ts';

export type User = PlatformTables['users'];
/**
 * Runs when a session ends, by its own logout or ended from another session (before it ends, so a
 * failure leaves it live to retry); `sessionId` says which, so that only a phone's own session
 * takes that phone's bank cards with it (issue 12).
 */
export type LogoutHook = (userId: string, sessionId: string) => Promise<void>;
export type Session = PlatformTables['sessions'];
/** What sign-up asks beyond the account itself (the policy version shown, the date of birth). */
export interface SignUpExtras { acceptedPolicyVersion?: string | undefined; birthDate?: string | undefined }
/** Runs inside the sign-up transaction (privacy records the accepted policy version); a throw undoes the sign-up. */
export type SignUpHook = (trx: Kysely<PlatformTables>, user: User, extras: SignUpExtras) => Promise<void>;
/** Runs at login after the password and before the session (privacy asks re-acceptance of a major policy change). */
export type LogInCheck = (user: User, input: { acceptPolicyVersion?: string | undefined }) => Promise<void>;

export const sessionLifetimeMs = 30 * 24 * 3_600_000;
/** `last_seen_at` is refreshed at most this often, so reading does not cost a write per request. */
const lastSeenResolutionMs = 60_000;
const loginLockout: Lockout = { table: 'users', failedColumn: 'login_failed_count', lockedUntilColumn: 'login_locked_until', triesMax: 10, lockMs: 3_600_000 };

/** A login password: 8–64 characters with at least one letter and one digit. */
export function checkLoginPassword(password: string): void {
  if (password.length < 8 || password.length > 64 || !/[A-Za-z]/.test(password) || !/[0-9]/.test(password)) {
    throw errors.password_too_weak('The password needs 8 to 64 characters with at least one letter and one digit.', 'password');
  }
}

/** The same API error naming another field (a shared check names `password`; this request calls it otherwise). */
export function renameParam(error: unknown, from: string, param: string): unknown {
  if (!(error instanceof ApiError) || error.param !== from) return error;
  const renamed = new ApiError(error.code, { status: error.status, type: error.type, raisedWhen: '' }, error.message, param, error.details);
  if (error.messageZh) renamed.inChinese(error.messageZh);
  return renamed;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

// Compared against when the phone is unknown, so a failed login takes as long either way.
let decoyHash: Promise<string> | undefined;

/** Mi accounts: sign up with a phone verified by SMS, log in to sessions, log out. */
export class AccountService {
  readonly #db: Kysely<PlatformTables>;
  readonly #codes: SmsCodes;
  readonly #clock: () => Date;
  readonly #logoutHooks: LogoutHook[] = [];
  readonly #signUpHooks: SignUpHook[] = [];
  readonly #logInChecks: LogInCheck[] = [];

  readonly #unknownPhoneFailures: RateLimitStore;

  /** `unknownPhoneFailures` counts wrong logins to phones with no account (the rate-limit store: memory or Redis). */
  constructor(db: Kysely<PlatformTables>, codes: SmsCodes, clock: () => Date, unknownPhoneFailures: RateLimitStore = new MemoryRateLimitStore({ clock })) {
    this.#db = db;
    this.#codes = codes;
    this.#clock = clock;
    this.#unknownPhoneFailures = unknownPhoneFailures;
  }

  async findUserByPhone(phone: string): Promise<User | undefined> {
    return this.#db.selectFrom('users').selectAll().where('phone', '=', phone).executeTakeFirst();
  }

  async getUser(userId: string): Promise<User> {
    return this.#db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
  }

  /** Always answers the same way; an existing account's owner learns by SMS that the number is registered. */
  async requestSignUpCode(phone: string): Promise<{ expiresAt: Date }> {
    const registered = (await this.findUserByPhone(phone)) !== undefined;
    return this.#codes.send(phone, 'sign_up', { accountExists: registered });
  }

  async signUp(input: { phone: string; smsCode: string; password: string; nickname: string; avatarUrl?: string | undefined } & SignUpExtras): Promise<User> {
    checkLoginPassword(input.password);
    const passwordHash = await hashPassword(input.password);
    const now = this.#clock();
    const outcome = await transactionWithRetry(this.#db, async (trx) => {
      // The code first: only someone holding the phone learns that it is registered.
      const consumed = await this.#codes.consume(trx, input.phone, 'sign_up', input.smsCode);
      if (consumed.error) return { error: consumed.error };
      if (await trx.selectFrom('users').select('id').where('phone', '=', input.phone).executeTakeFirst()) {
        return { error: errors.phone_already_registered('This phone number already has a Mi account; log in instead.', 'phone') };
      }
      let miNumber = drawMiNumber();
      // Ten random digits rarely collide; the unique index is the backstop.
      while (await trx.selectFrom('users').select('id').where('mi_number', '=', miNumber).executeTakeFirst()) miNumber = drawMiNumber();
      const user: User = {
        id: newId('usr'), mi_number: miNumber, phone: input.phone, password_hash: passwordHash, nickname: input.nickname,
        avatar_url: input.avatarUrl ?? null, status: 'active', login_failed_count: 0, login_locked_until: null, created_at: now,
      };
      await trx.insertInto('users').values(user).execute();
      for (const hook of this.#signUpHooks) await hook(trx, user, { acceptedPolicyVersion: input.acceptedPolicyVersion, birthDate: input.birthDate });
      return { user };
    });
    if ('error' in outcome) throw outcome.error;
    return outcome.user;
  }

  async logIn(input: { phone: string; password: string; userAgent?: string | undefined; ip?: string | undefined; acceptPolicyVersion?: string | undefined }): Promise<{ token: string; session: Session }> {
    const now = this.#clock();
    const user = await this.findUserByPhone(input.phone);
    if (!user || user.status !== 'active') {
      decoyHash ??= hashPassword('decoy-password-0');
      await verifyPassword(await decoyHash, input.password);
      // An unknown phone locks after as many wrong tries as a real one, so the lock tells nothing.
      const { count, resetInMs } = await this.#unknownPhoneFailures.hit(`login-unknown-phone:${input.phone}`, loginLockout.lockMs);
      if (count >= loginLockout.triesMax) {
        throw errors.login_locked('Too many wrong passwords; logging in is locked for a while.', 'password', { locked_until: new Date(now.getTime() + resetInMs).toISOString() });
      }
      throw errors.login_failed('The phone number or the password is wrong.');
    }
    // No tries_left: an unknown phone has none to give, and the difference would tell which phones are registered.
    await this.#checkPassword(user, input.password, now, () => errors.login_failed('The phone number or the password is wrong.'));
    for (const check of this.#logInChecks) await check(user, { acceptPolicyVersion: input.acceptPolicyVersion });
    const token = `mps_${randomBytes(32).toString('base64url')}`;
    const session: Session = {
      id: newId('ses'), user_id: user.id, token_hash: hashToken(token), user_agent: input.userAgent?.slice(0, 256) ?? null,
      ip: input.ip ?? null, created_at: now, last_seen_at: now, expires_at: new Date(now.getTime() + sessionLifetimeMs), revoked_at: null,
    };
    await this.#db.insertInto('sessions').values(session).execute();
    return { token, session };
  }

  /**
   * The account password again, to confirm a sensitive action of a signed-in user (a session
   * alone, perhaps stolen with the phone, is not enough). Wrong tries count toward the login
   * lock, so this cannot be used to guess the password past it.
   */
  async confirmPassword(userId: string, password: string): Promise<void> {
    const user = await this.getUser(userId);
    await this.#checkPassword(user, password, this.#clock(), (triesLeft) => errors.password_wrong('The account password is wrong.', 'password', { tries_left: triesLeft }));
  }

  /** Checks a user's password under the login lock: wrong tries count toward it, and a locked account is refused right or wrong. */
  async #checkPassword(user: User, password: string, now: Date, wrong: (triesLeft: number) => Error): Promise<void> {
    const locked = (until?: Date) => errors.login_locked('Too many wrong passwords; logging in is locked for a while.', 'password', until ? { locked_until: until.toISOString() } : undefined);
    const lock = lockStateOf({ failed: user.login_failed_count, lockedUntil: user.login_locked_until }, now);
    if (lock.locked) throw locked(lock.lockedUntil);
    if (!(await verifyPassword(user.password_hash, password))) {
      const after = await recordFailure(this.#db, loginLockout, user.id, now);
      if (after.locked) throw locked(after.lockedUntil);
      throw wrong(after.triesLeft);
    }
    if (!(await recordSuccess(this.#db, loginLockout, user.id, now))) throw locked();
  }

  /** The live session a bearer token names, or undefined for an unknown, expired or revoked one. */
  async authenticate(token: string): Promise<{ session: Session; user: User } | undefined> {
    const now = this.#clock();
    const session = await this.#db.selectFrom('sessions').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!session || session.revoked_at || session.expires_at.getTime() <= now.getTime()) return undefined;
    const user = await this.getUser(session.user_id);
    if (user.status !== 'active') return undefined;
    if (now.getTime() - session.last_seen_at.getTime() > lastSeenResolutionMs) {
      await this.#db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', session.id).execute();
    }
    return { session, user };
  }

  async listSessions(userId: string): Promise<Session[]> {
    return this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.#clock())
      .orderBy('created_at', 'desc')
      .limit(100)
      .execute();
  }

  /** Privacy records the policy version accepted at sign-up (and the declared date of birth); registered at wiring. */
  onSignUp(hook: SignUpHook): void {
    this.#signUpHooks.push(hook);
  }

  /** Privacy refuses a login until a major policy change is accepted; registered at wiring. */
  onLogIn(check: LogInCheck): void {
    this.#logInChecks.push(check);
  }

  /** The service's clock (routes check ages against it). */
  now(): Date {
    return this.#clock();
  }

  /**
   * Changes the login password: the old one (counted toward the login lock) and a code texted
   * to the account's phone for `login_password_change`; every other session ends.
   */
  async changePassword(input: { userId: string; keepSessionId: string; oldPassword: string; smsCode: string; newPassword: string }): Promise<void> {
    try {
      checkLoginPassword(input.newPassword);
    } catch (error) {
      throw renameParam(error, 'password', 'new_password');
    }
    try {
      await this.confirmPassword(input.userId, input.oldPassword);
    } catch (error) {
      throw renameParam(error, 'password', 'old_password');
    }
    const user = await this.getUser(input.userId);
    const passwordHash = await hashPassword(input.newPassword);
    const now = this.#clock();
    const outcome = await transactionWithRetry(this.#db, async (trx) => {
      const consumed = await this.#codes.consume(trx, user.phone, 'login_password_change', input.smsCode);
      if (consumed.error) return { error: consumed.error };
      await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', user.id).execute();
      await trx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', user.id)
        .where('id', '<>', input.keepSessionId).where('revoked_at', 'is', null).execute();
      return {};
    });
    if (outcome.error) throw outcome.error;
  }

  /** Other domains act on logout (devices delete bank device cards); registered at wiring. */
  onLogout(hook: LogoutHook): void {
    this.#logoutHooks.push(hook);
  }

  /** Log out: the logout hooks run, then the session ends. */
  async logOut(userId: string, sessionId: string): Promise<void> {
    await this.revokeSession(userId, sessionId);
  }

  /** Ends a session of this user (the logout hooks run first). Unknown, foreign or ended ids are "not found". */
  async revokeSession(userId: string, sessionId: string): Promise<void> {
    const live = await this.#db.selectFrom('sessions').select('id').where('id', '=', sessionId).where('user_id', '=', userId)
      .where('revoked_at', 'is', null).executeTakeFirst();
    if (!live) throw errors.not_found('No live session with this id on this account.', 'id');
    for (const hook of this.#logoutHooks) await hook(userId, sessionId);
    const result = await this.#db
      .updateTable('sessions')
      .set({ revoked_at: this.#clock() })
      .where('id', '=', sessionId)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw errors.not_found('No live session with this id on this account.', 'id');
  }
}
