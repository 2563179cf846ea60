import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import { errors } from '../errors.ts';
import type { PrivacyDb, PrivacyTables } from './tables.ts';

export interface PolicyPurpose { code: string; required: boolean; description: string }
export interface PolicyVersion {
  version: string; effectiveAt: Date; textLocation: string; purposes: PolicyPurpose[]; major: boolean;
}

/** The permissions the phone reports (privacy policy 一(二)). */
export const devicePermissions = ['phone_state', 'storage', 'location', 'camera', 'album'] as const;
export type DevicePermission = (typeof devicePermissions)[number];

/**
 * Features of the wallet that use a phone permission: the phone asks `checkFeature` before using
 * one, and a revoked permission is refused by name rather than failing somewhere later.
 */
export const featurePermissions = {
  register_device: 'phone_state',
  scan_card_with_camera: 'camera',
  id_photo_from_album: 'album',
  transit_nearby_stations: 'location',
  save_export_to_storage: 'storage',
} as const satisfies Record<string, DevicePermission>;
export type Feature = keyof typeof featurePermissions;

function toVersion(row: PrivacyTables['privacy_policy_versions']): PolicyVersion {
  return { version: row.version, effectiveAt: row.effective_at, textLocation: row.text_location, purposes: JSON.parse(row.purposes), major: row.major };
}

/**
 * Policy versions, acceptances and consents (DESIGN §3 privacy). A user accepts the policy in
 * force at sign-up; when a major version takes effect, the next login is refused with
 * `policy_acceptance_required` until it names that version. A purpose that is not required is
 * off until consented (no row = off), and a withdrawal is a newer row, so the history stays.
 */
export class ConsentService {
  readonly #db: Kysely<PrivacyDb>;
  readonly #clock: () => Date;

  constructor(db: Kysely<PrivacyDb>, clock: () => Date) {
    this.#db = db;
    this.#clock = clock;
  }

  /** The version in force now: the newest whose effective time has come. */
  async currentVersion(db: Kysely<PrivacyDb> = this.#db): Promise<PolicyVersion> {
    const row = await db.selectFrom('privacy_policy_versions').selectAll()
      .where('effective_at', '<=', this.#clock()).orderBy('effective_at', 'desc').limit(1).executeTakeFirstOrThrow();
    return toVersion(row);
  }

  /** The newest major version in force: the one a user must have accepted to log in. */
  async #currentMajor(db: Kysely<PrivacyDb>): Promise<PolicyVersion> {
    const row = await db.selectFrom('privacy_policy_versions').selectAll().where('major', '=', true)
      .where('effective_at', '<=', this.#clock()).orderBy('effective_at', 'desc').limit(1).executeTakeFirstOrThrow();
    return toVersion(row);
  }

  async listVersions(): Promise<PolicyVersion[]> {
    const rows = await this.#db.selectFrom('privacy_policy_versions').selectAll().orderBy('effective_at', 'asc').limit(200).execute();
    return rows.map(toVersion);
  }

  /** Publishes a version (operators; the ops console arrives with the staff branch). */
  async publishVersion(version: PolicyVersion): Promise<void> {
    if (!/^[0-9]+\.[0-9]+$/.test(version.version)) throw errors.parameter_invalid('A policy version is MAJOR.MINOR.', 'version');
    await this.#db.insertInto('privacy_policy_versions').values({
      version: version.version, effective_at: version.effectiveAt, text_location: version.textLocation,
      purposes: JSON.stringify(version.purposes), major: version.major, created_at: this.#clock(),
    }).execute();
  }

  /** At sign-up, inside its transaction: the version shown must be the one in force. */
  async recordSignUp(trx: Kysely<PrivacyDb>, userId: string, shownVersion: string | undefined): Promise<void> {
    const current = await this.currentVersion(trx);
    if (shownVersion !== undefined && shownVersion !== current.version) {
      throw errors.policy_version_not_current(`The privacy policy in force is version ${current.version}; show it and accept that one.`,
        'accepted_policy_version', { current_version: current.version });
    }
    await trx.insertInto('policy_acceptances').values({ id: newId('pac'), user_id: userId, version: current.version, accepted_at: this.#clock(), channel: 'sign_up' }).execute();
  }

  /**
   * At login, after the password: a user who has not accepted the newest major version is
   * refused until the login names it (`accept_policy_version`), which records the acceptance.
   */
  async checkAtLogin(userId: string, acceptVersion: string | undefined): Promise<void> {
    const major = await this.#currentMajor(this.#db);
    const current = await this.currentVersion();
    const accepted = await this.#db.selectFrom('policy_acceptances').innerJoin('privacy_policy_versions as v', 'v.version', 'policy_acceptances.version')
      .select('v.effective_at').where('user_id', '=', userId).orderBy('v.effective_at', 'desc').limit(1).executeTakeFirst();
    if (accepted && accepted.effective_at.getTime() >= major.effectiveAt.getTime()) return;
    if (acceptVersion === current.version) {
      await this.#db.insertInto('policy_acceptances').values({ id: newId('pac'), user_id: userId, version: current.version, accepted_at: this.#clock(), channel: 'login' }).execute();
      return;
    }
    throw errors.policy_acceptance_required(
      `The privacy policy changed (version ${current.version}); read it and log in again with accept_policy_version "${current.version}".`,
      'accept_policy_version', { version: current.version, text_location: current.textLocation },
    );
  }

  async acceptances(userId: string): Promise<PrivacyTables['policy_acceptances'][]> {
    return this.#db.selectFrom('policy_acceptances').selectAll().where('user_id', '=', userId).orderBy('accepted_at', 'asc').limit(1000).execute();
  }

  /** Each optional purpose of the version in force with its state now (off until consented). */
  async purposeStates(userId: string): Promise<Array<PolicyPurpose & { granted: boolean; recorded_at: Date | null }>> {
    const current = await this.currentVersion();
    const history = await this.consentHistory(userId);
    return current.purposes.map((purpose) => {
      if (purpose.required) return { ...purpose, granted: true, recorded_at: null };
      const newest = history.filter((h) => h.purpose === purpose.code).at(-1);
      return { ...purpose, granted: newest?.granted ?? false, recorded_at: newest?.recorded_at ?? null };
    });
  }

  /** Gives or withdraws consent to an optional purpose of the version in force; required ones cannot be turned off here. */
  async setConsent(userId: string, purposeCode: string, granted: boolean): Promise<void> {
    const current = await this.currentVersion();
    const purpose = current.purposes.find((p) => p.code === purposeCode);
    if (!purpose) throw errors.parameter_invalid(`Policy ${current.version} has no purpose "${purposeCode}".`, 'purpose');
    if (purpose.required) {
      throw errors.parameter_invalid('A purpose the service needs cannot be turned off alone; withdraw consent by deregistering (POST /v1/privacy/requests kind consent_withdrawal).', 'purpose');
    }
    await this.#db.insertInto('purpose_consents').values({
      id: newId('pcn'), user_id: userId, purpose: purposeCode, granted, policy_version: current.version, recorded_at: this.#clock(),
    }).execute();
  }

  async consentHistory(userId: string): Promise<PrivacyTables['purpose_consents'][]> {
    return this.#db.selectFrom('purpose_consents').selectAll().where('user_id', '=', userId).orderBy('recorded_at', 'asc').orderBy('id', 'asc').limit(1000).execute();
  }

  /** Whether marketing messages may be sent to this user now. */
  async marketingAllowed(userId: string): Promise<boolean> {
    return (await this.purposeStates(userId)).find((p) => p.code === 'marketing')?.granted ?? false;
  }

  /** Records the phone's report of a permission grant or revocation; the device must be the user's. */
  async recordPermission(userId: string, deviceId: string, permission: DevicePermission, state: 'granted' | 'revoked'): Promise<void> {
    const device = await this.#db.selectFrom('devices').select('id').where('id', '=', deviceId).where('user_id', '=', userId).executeTakeFirst();
    if (!device) throw errors.not_found('No device with this id on this account.', 'device_id');
    await this.#db.insertInto('permission_records').values({ id: newId('prm'), user_id: userId, device_id: deviceId, permission, state, reported_at: this.#clock() }).execute();
  }

  async permissionHistory(userId: string): Promise<PrivacyTables['permission_records'][]> {
    return this.#db.selectFrom('permission_records').selectAll().where('user_id', '=', userId).orderBy('reported_at', 'asc').orderBy('id', 'asc').limit(5000).execute();
  }

  /** Refuses a feature whose permission the device's newest report revoked (or never granted). */
  async checkFeature(userId: string, deviceId: string, feature: Feature): Promise<void> {
    const permission = featurePermissions[feature];
    const newest = await this.#db.selectFrom('permission_records').select(['state', 'reported_at']).where('user_id', '=', userId)
      .where('device_id', '=', deviceId).where('permission', '=', permission).orderBy('reported_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (newest?.state !== 'granted') {
      throw errors.permission_revoked(`${feature.replaceAll('_', ' ')} needs the ${permission.replace('_', ' ')} permission, which this phone ${newest ? 'revoked' : 'has not granted'}; turn it on in the phone's settings.`,
        'feature', { permission });
    }
  }
}
