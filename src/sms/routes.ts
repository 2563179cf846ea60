import { z } from 'zod';
import type { App } from '../infra/http/server.ts';
import { mobilePhone } from '../infra/validation/phone.ts';
import type { SandboxOutbox } from './client.ts';

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
