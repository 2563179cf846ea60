import type { Kysely } from 'kysely';
import { newId } from '../infra/ids.ts';
import type { SandboxMessage, SandboxOutbox, SmsGateway, SmsMessage } from './client.ts';

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
