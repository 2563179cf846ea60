import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { App } from '../infra/http/server.ts';
import { BankError, type AgreementTransfer } from './client.ts';
import { bankErrors, partnerAuthentication } from './http.ts';
import type { SettlementService } from './settlement.ts';

const transferSchema = z.object({
  id: z.string(), reference: z.string(), agreement_id: z.string(), direction: z.enum(['debit', 'credit']),
  amount_fen: z.number(), status: z.enum(['succeeded', 'declined']), decline_code: z.string().nullable(), created_at: z.string(),
  limit_fen: z.number().nullable().describe('With a quick_pay_single_limit or quick_pay_daily_limit decline: the bank\'s limit, in fen'),
});

function toWire(transfer: AgreementTransfer): z.infer<typeof transferSchema> {
  return {
    id: transfer.transferId, reference: transfer.reference, agreement_id: transfer.agreementId, direction: transfer.direction,
    amount_fen: Number(transfer.amountFen), status: transfer.status, decline_code: transfer.declineCode, created_at: transfer.createdAt.toISOString(),
    limit_fen: transfer.limitFen === null ? null : Number(transfer.limitFen),
  };
}

const reference = z.string().regex(/^[A-Za-z0-9_.:-]{8,64}$/, '8 to 64 letters, digits or _.:-');

/** The partner API for quick-pay movements on agreements: debit, credit, look up by reference, revoke. */
export function registerSettlementRoutes(app: App, settlement: SettlementService, partnerKeys: readonly string[]): void {
  app.register(async (instance) => {
    const partner = instance.withTypeProvider<ZodTypeProvider>();
    partner.addHook('onRequest', partnerAuthentication(partnerKeys));

    partner.post('/v1/agreements/:id/transfers', {
      schema: {
        tags: ['partner'], security: [{ partner_key: [] }],
        summary: 'Debit the card into the partner\'s settlement account, or credit it back; once per reference',
        errorParams: ['agreement_id'],
        errors: [bankErrors.agreement_not_found, bankErrors.reference_conflict],
        description: 'Debits are held to the bank\'s quick-pay limits per agreement (single and per Beijing day; `GET /v1/banks`). '
          + 'A decline (insufficient funds, card not active, a quick-pay limit, …) is answered with `status: declined` and kept: the same reference answers the same outcome.',
        params: z.object({ id: z.string().min(1).max(64) }),
        body: z.object({ direction: z.enum(['debit', 'credit']), amount_fen: z.number().int().positive().max(Number.MAX_SAFE_INTEGER), reference }),
        response: { 200: transferSchema },
      },
    }, async (request) => toWire(await settlement.transfer({
      agreementId: request.params.id, direction: request.body.direction, amountFen: BigInt(request.body.amount_fen), reference: request.body.reference,
    })));

    partner.get('/v1/agreement-transfers/:reference', {
      schema: { tags: ['partner'], security: [{ partner_key: [] }], summary: 'The outcome of a movement by its reference',
        description: 'Partner key required. What a partner asks when its movement\'s answer was lost: the same outcome as '
          + 'the first answer.',
        errors: [bankErrors.reference_unknown], params: z.object({ reference }), response: { 200: transferSchema } },
    }, async (request) => {
      const transfer = await settlement.findTransfer(request.params.reference);
      if (!transfer) throw new BankError('reference_unknown', 'No movement was made with this reference.', { param: 'reference' });
      return toWire(transfer);
    });

    partner.post('/v1/agreements/:id/revoke', {
      schema: { tags: ['partner'], security: [{ partner_key: [] }], summary: 'End a quick-pay agreement (the card was unbound)',
        description: 'Partner key required. The card was unbound: the agreement ends and later movements on it are refused. '
          + 'Revoking twice is harmless.',
        errors: [bankErrors.agreement_not_found], params: z.object({ id: z.string().min(1).max(64) }), response: { 200: z.object({ revoked: z.literal(true) }) } },
    }, async (request) => {
      await settlement.revokeAgreement(request.params.id);
      return { revoked: true as const };
    });
  });
}
