import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors } from '../errors.ts';
import type { DoorCardBackup, DoorCardBackupService } from './service.ts';

export const doorCardBackupSchema = z.object({
  id: z.string().describe('dcb_…'),
  card_ref: z.string().describe("The phone's own id of the door card (door_…)"),
  name: z.string(),
  uid_masked: z.string().describe('First and last byte of the UID; the full UID stays on the phone'),
  card_type: z.enum(['mifare_classic_1k', 'mifare_classic_4k']).describe('The chip: MIFARE Classic 1K or 4K'),
  created_at: z.string(),
  updated_at: z.string(),
});

function toWire(backup: DoorCardBackup): z.infer<typeof doorCardBackupSchema> {
  return {
    id: backup.id,
    card_ref: backup.card_ref,
    name: backup.name,
    uid_masked: backup.uid_masked,
    card_type: backup.card_type,
    created_at: backup.created_at.toISOString(),
    updated_at: backup.updated_at.toISOString(),
  };
}

export function registerDoorCardRoutes(app: App, accounts: AccountService, backups: DoorCardBackupService): void {
  const preHandler = requireSession(accounts);
  const security = [{ session: [] }];
  const tags = ['door-cards'];

  app.post(
    '/v1/door-cards',
    {
      preHandler,
      schema: {
        security,
        tags,
        summary:
          'Back up a door card the phone keeps: its name and masked UID only (the card itself never leaves the phone)',
        description: 'Backing up the same card_ref again updates the name. At most 50 backups per account.',
        body: z.object({
          card_ref: z
            .string()
            .regex(/^door_[0-9a-f]{12}$/, 'door_ and 12 hex digits')
            .describe("The phone's own id of the door card"),
          name: z.string().trim().min(1).max(32).describe('The name the user gave the card'),
          uid_masked: z
            .string()
            .min(11)
            .max(20)
            .describe('Masked UID, e.g. 04:**:**:A1 (4 bytes) or 04:**:**:**:**:**:80 (7 bytes)'),
          card_type: z.enum(['mifare_classic_1k', 'mifare_classic_4k']).describe('The chip: MIFARE Classic 1K or 4K'),
        }),
        response: { 201: doorCardBackupSchema },
        errors: [errors.door_card_backups_limit],
      },
    },
    async (request, reply) => {
      const b = request.body;
      const backup = await backups.backUp(caller(request).user.id, {
        cardRef: b.card_ref,
        name: b.name,
        uidMasked: b.uid_masked,
        cardType: b.card_type,
      });
      void reply.code(201);
      return toWire(backup);
    },
  );

  app.get(
    '/v1/door-cards',
    {
      preHandler,
      schema: {
        security,
        tags,
        summary: "The account's door card backups (for the user center), newest first",
        description: 'Names and masked UIDs only: the cards and their keys stay on the phones.',
        errors: [],
        response: { 200: z.object({ data: z.array(doorCardBackupSchema) }) },
      },
    },
    async (request) => ({ data: (await backups.list(caller(request).user.id)).map(toWire) }),
  );

  app.delete(
    '/v1/door-cards/:id',
    {
      preHandler,
      schema: {
        security,
        tags,
        summary: 'Delete a door card backup (the card on the phone stays)',
        description: 'Deletes the backup with this id if this account owns it; answers the deleted backup.',
        errors: [errors.not_found],
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: doorCardBackupSchema },
      },
    },
    async (request) => toWire(await backups.delete(caller(request).user.id, request.params.id)),
  );
}
