/**
 * The SMS party's face: the carrier interface the platform and the banks send through, and the
 * sandbox outbox (with the route each sandbox server mounts to read it). This file imports
 * nothing else of the SMS party; the cli builds carriers from ./party.ts.
 */
import { z } from 'zod';
import type { App } from '../infra/http/server.ts';
import { mobilePhone } from '../infra/validation/phone.ts';
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


const messageSchema = z.object({
  id: z.string(),
  to: z.string(),
  sender: z.string(),
  text: z.string(),
  sent_at: z.string(),
});

/**
 * `GET /v1/sandbox/sms`: what the sandbox carrier would have delivered to a phone, newest first.
 * Mounted only when the server runs in sandbox mode.
 */
export function registerSandboxSmsRoutes(app: App, outbox: SandboxOutbox): void {
  app.get('/v1/sandbox/sms', {
    schema: {
      tags: ['sandbox'],
      summary: 'Read the SMS messages the sandbox carrier kept for a phone number',
      description: 'Sandbox only: no SMS leaves the machine; read the codes here instead.',
      errors: [],
      querystring: z.object({ phone: mobilePhone, limit: z.coerce.number().int().min(1).max(100).default(10) }),
      response: { 200: z.object({ data: z.array(messageSchema) }) },
    },
  }, async (request) => {
    const messages = await outbox.messagesTo(request.query.phone, request.query.limit);
    return {
      data: messages.map((m) => ({ id: m.id, to: m.to, sender: m.sender, text: m.text, sent_at: m.sentAt.toISOString() })),
    };
  });
}
