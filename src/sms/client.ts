import type { Kysely } from 'kysely';
import { newId } from '../infra/ids.ts';

/**
 * The SMS carrier that the platform and the banks send verification codes through.
 * Production deployments plug in their provider behind this interface; the sandbox carrier
 * delivers nothing and keeps every message in an outbox that testers can read.
 */
export interface SmsGateway {
  send(message: SmsMessage): Promise<{ messageId: string }>;
}

/**
 * One text message. `text` is the whole message as the sandbox outbox keeps it; `template`
 * is the same message for a carrier that sends only pre-approved templates (every Chinese SMS
 * provider does): a template name the deployment maps to the provider's template code, and
 * its variables.
 */
export interface SmsMessage {
  to: string;
  text: string;
  sender: string;
  template?: SmsTemplate;
}

export interface SmsTemplate {
  name: 'verification_code' | 'account_exists' | 'bank_verification_code';
  params: Record<string, string>;
}

export interface SandboxMessage {
  id: string;
  to: string;
  sender: string;
  text: string;
  sentAt: Date;
}

/** Readable side of the sandbox carrier. */
export interface SandboxOutbox {
  messagesTo(phone: string, limit: number): Promise<SandboxMessage[]>;
}

export interface SmsTables {
  messages: { id: string; recipient: string; sender: string; text: string; sent_at: Date };
}

export const smsSchema = 'sms';

export const smsMigrations = {
  '2026-11-22T0000-messages': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('messages_recipient_idx').on('messages').columns(['recipient', 'sent_at']).execute();
    },
  },
};

/** The sandbox carrier: stores messages in the `sms` schema instead of delivering them. */
export class SandboxSmsGateway implements SmsGateway, SandboxOutbox {
  readonly #db: Kysely<SmsTables>;

  constructor(db: Kysely<SmsTables>) {
    this.#db = db;
  }

  async send(message: SmsMessage): Promise<{ messageId: string }> {
    const id = newId('sms');
    await this.#db
      .insertInto('messages')
      .values({ id, recipient: message.to, sender: message.sender, text: message.text, sent_at: new Date() })
      .execute();
    return { messageId: id };
  }

  async messagesTo(phone: string, limit: number): Promise<SandboxMessage[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where('recipient', '=', phone)
      .orderBy('sent_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ id: row.id, to: row.recipient, sender: row.sender, text: row.text, sentAt: row.sent_at }));
  }
}
