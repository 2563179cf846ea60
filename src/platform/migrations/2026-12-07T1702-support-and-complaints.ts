import { sql, type Kysely } from 'kysely';

/**
 * Customer service (issue 17, item 5) and complaints (item 6, policy 九): tickets with their
 * messages (the user's, staff replies the user sees, internal notes the user does not), the
 * identity checks an agent passes before acting for a caller, and complaints with their
 * 15-working-day deadline and escalation state.
 */
export const supportAndComplaints = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('support_tickets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'waiting_on_user', 'resolved', 'closed')`))
      .addColumn('opened_by', 'text', (c) => c.notNull().check(sql`opened_by in ('user', 'agent')`))
      .addColumn('opened_by_staff_id', 'text')
      .addColumn('identity_check_id', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('support_tickets_user_idx').on('support_tickets').columns(['user_id', 'id']).execute();
    await db.schema.createIndex('support_tickets_status_idx').on('support_tickets').columns(['status', 'id']).execute();

    await db.schema
      .createTable('support_ticket_messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      // The order messages were written in: ids made in the same millisecond do not sort by time.
      .addColumn('seq', 'bigserial', (c) => c.notNull())
      .addColumn('ticket_id', 'text', (c) => c.notNull().references('support_tickets.id'))
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('user_message', 'staff_reply', 'internal_note')`))
      .addColumn('staff_id', 'text')
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('support_ticket_messages_ticket_idx').on('support_ticket_messages').columns(['ticket_id', 'seq']).execute();

    await db.schema
      .createTable('support_identity_checks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('staff_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('matched', 'boolean', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('complaints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('ticket_id', 'text')
      .addColumn('content', 'text', (c) => c.notNull())
      .addColumn('contact', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'answered')`))
      .addColumn('received_at', 'timestamptz', (c) => c.notNull())
      .addColumn('due_date', 'text', (c) => c.notNull())
      .addColumn('due_at', 'timestamptz', (c) => c.notNull())
      .addColumn('calendar_covered', 'boolean', (c) => c.notNull())
      .addColumn('escalation', 'text', (c) => c.notNull().check(sql`escalation in ('none', 'due_soon', 'overdue')`))
      .addColumn('escalated_at', 'timestamptz')
      .addColumn('answer', 'text')
      .addColumn('answered_at', 'timestamptz')
      .addColumn('answered_by_staff_id', 'text')
      .execute();
    await db.schema.createIndex('complaints_open_due_idx').on('complaints').columns(['status', 'due_at']).execute();
    await db.schema.createIndex('complaints_user_idx').on('complaints').columns(['user_id', 'id']).execute();
  },
};
