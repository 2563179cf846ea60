import type { Generated, Selectable } from 'kysely';

/** Row types of the staff tables (schema `platform`), as migrations 2026-12-07T1700/T1701 create them. */
export interface StaffTables {
  staff: {
    id: string; email: string; name: string; password_hash: string; totp_secret_sealed: string; totp_last_step: bigint | null;
    status: 'active' | 'disabled'; login_failed_count: number; login_locked_until: Date | null; created_at: Date; disabled_at: Date | null;
  };
  staff_roles: { staff_id: string; role: StaffRole; granted_at: Date };
  staff_sessions: {
    id: string; staff_id: string; token_hash: string; ip: string | null; user_agent: string | null; created_at: Date;
    last_seen_at: Date; expires_at: Date; revoked_at: Date | null;
  };
  staff_audit_log: {
    seq: bigint; id: string; at: Date; staff_id: string | null; action: string; reason: string | null; subject_user_id: string | null;
    subject_type: string | null; subject_id: string | null; details: string; ip: string | null; prev_hash: string; hash: string;
  };
  staff_audit_head: { id: number; seq: bigint; hash: string };
}

/**
 * What a staff member may do. Roles add up (a person may hold several); none implies another:
 * an admin manages staff accounts and roles but sees no user data unless also given a role that does.
 */
export const staffRoles = ['support_agent', 'risk_reviewer', 'compliance_officer', 'admin'] as const;
export type StaffRole = (typeof staffRoles)[number];

/** Row types of the customer-service and complaint tables (migration 2026-12-07T1702). */
export interface SupportTables {
  support_tickets: {
    id: string; user_id: string; subject: string; status: TicketStatus; opened_by: 'user' | 'agent'; opened_by_staff_id: string | null;
    identity_check_id: string | null; created_at: Date; updated_at: Date;
  };
  support_ticket_messages: {
    id: string; seq: Generated<bigint>; ticket_id: string; kind: 'user_message' | 'staff_reply' | 'internal_note'; staff_id: string | null; body: string; created_at: Date;
  };
  support_identity_checks: { id: string; staff_id: string; user_id: string | null; matched: boolean; created_at: Date };
  complaints: {
    id: string; user_id: string; ticket_id: string | null; content: string; contact: string; status: 'open' | 'answered';
    received_at: Date; due_date: string; due_at: Date; calendar_covered: boolean; escalation: 'none' | 'due_soon' | 'overdue';
    escalated_at: Date | null; answer: string | null; answered_at: Date | null; answered_by_staff_id: string | null;
  };
}

export const ticketStatuses = ['open', 'waiting_on_user', 'resolved', 'closed'] as const;
export type TicketStatus = (typeof ticketStatuses)[number];
