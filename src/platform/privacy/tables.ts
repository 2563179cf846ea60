import type { PlatformTables } from '../tables.ts';

/** Row types of the privacy domain's tables (schema `platform`, migration 2026-12-07T1600-privacy). */
export interface PrivacyTables {
  /** Privacy-policy versions as data; `purposes` is a JSON array of `{ code, required, description }`. */
  privacy_policy_versions: {
    version: string; effective_at: Date; text_location: string; purposes: string; major: boolean; created_at: Date;
  };
  /** Each acceptance of a policy version (sign-up, or again at login after a major change). */
  policy_acceptances: { id: string; user_id: string; version: string; accepted_at: Date; channel: 'sign_up' | 'login' | 'api' };
  /** Each consent given or withdrawn for an optional purpose (marketing, …); the newest row per purpose holds. */
  purpose_consents: { id: string; user_id: string; purpose: string; granted: boolean; policy_version: string; recorded_at: Date };
  /** Each permission grant or revocation the phone reports (一(二)). */
  permission_records: {
    id: string; user_id: string; device_id: string; permission: string; state: 'granted' | 'revoked'; reported_at: Date;
  };
  /** Rights requests with a 15-working-day clock (access, correction, deletion, consent withdrawal, complaint). */
  privacy_requests: {
    id: string; user_id: string; kind: string; details: string; status: 'received' | 'completed' | 'refused';
    received_at: Date; due_date: string; due_at: Date; calendar_covered: boolean; answered_at: Date | null;
    refusal_reason: string | null; answer: string | null;
  };
  /** Copy-of-everything jobs; the ZIP itself is built at download time and never stored. */
  data_exports: {
    id: string; user_id: string; request_id: string; status: 'pending' | 'ready' | 'downloaded' | 'expired';
    requested_at: Date; ready_at: Date | null; expires_at: Date | null; downloaded_at: Date | null; sections: string | null;
  };
  /** Each correction of the user's profile or personal data: what changed and when (values masked where sensitive). */
  profile_history: {
    id: string; user_id: string; field: string; old_value: string | null; new_value: string | null; changed_at: Date;
  };
  /** Personal-data breaches and when the regulator and the users were told (四(一)); no user identifier. */
  breach_records: {
    id: string; occurred_at: Date; discovered_at: Date; recorded_at: Date; recorded_by: string; description: string; data_categories: string;
    affected_users_count: number; measures: string; regulator_notified_at: Date | null; regulator_reference: string | null;
    users_notified_at: Date | null; users_notification_channel: string | null;
  };
  /** Aggregate statistics per China day and metric, with no user identifier (一(五)). */
  daily_aggregates: { day: string; metric: string; value: bigint | string; computed_at: Date };
  /** Declared dates of birth at sign-up (the age rule of 六); only adults are ever recorded. */
  user_birth_dates: { user_id: string; birth_date: string; declared_at: Date };
}

export type PrivacyDb = PlatformTables & PrivacyTables;
