import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import { mobilePhone } from '../../infra/validation/phone.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors, bankCardErrors, smsCodeErrors } from '../errors.ts';
import type { BoundCard, CardService } from './service.ts';

export const boundCardSchema = z.object({
  id: z.string(),
  bank_code: z.string(),
  bank_name: z.string(),
  kind: z.enum(['debit', 'credit']),
  brand: z.string(),
  last4: z.string(),
  masked_number: z.string().describe('First 6 and last 4 digits at most'),
  status: z.enum(['active', 'unbound']),
  bound_at: z.string(),
});

export function boundCardToWire(card: BoundCard): z.infer<typeof boundCardSchema> {
  return {
    id: card.id, bank_code: card.bank_code, bank_name: card.bank_name, kind: card.card_kind, brand: card.brand, last4: card.last4,
    masked_number: card.masked_number, status: card.status, bound_at: card.bound_at.toISOString(),
  };
}

export function registerCardRoutes(app: App, accounts: AccountService, cards: CardService): void {
  const preHandler = requireSession(accounts);
  const security = [{ session: [] }];
  const tags = ['cards'];

  app.post('/v1/cards/applications', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Bind a card for quick pay, step 1: the bank checks it is the holder\'s and texts a code to its reserved phone',
      description: 'The card must be the payment account holder\'s (the bank checks the name and ID number the platform '
        + 'holds) and of a supported bank; the bank texts a code to the card\'s reserved phone.',
      errorParams: ['name'],
      errors: [errors.payment_account_not_found, errors.card_number_invalid, errors.card_already_bound,
        errors.bound_cards_limit, ...bankCardErrors],
      body: z.object({ card_number: z.string().regex(/^[0-9]{13,19}$/, '13 to 19 digits'), reserved_phone: mobilePhone }),
      response: { 201: z.object({ verification_id: z.string(), bank_name: z.string(), phone_masked: z.string(), expires_at: z.string() }) },
    },
  }, async (request, reply) => {
    const started = await cards.apply({ userId: caller(request).user.id, cardNumber: request.body.card_number, reservedPhone: request.body.reserved_phone });
    void reply.code(201);
    return { verification_id: started.verificationId, bank_name: started.bankName, phone_masked: started.phoneMasked, expires_at: started.expiresAt.toISOString() };
  });

  app.post('/v1/cards', {
    preHandler,
    schema: {
      security, tags,
      summary: 'Bind a card for quick pay, step 2: confirm with the bank\'s SMS code',
      description: 'Binds the card with the bank\'s code: the bank makes a quick-pay agreement; the platform keeps the '
        + 'agreement id and a stable card reference, never the card number.',
      errors: [errors.payment_account_not_found, errors.verification_not_found, errors.card_already_bound,
        errors.bound_cards_limit, errors.identity_mismatch, ...smsCodeErrors, errors.bank_unavailable],
      body: z.object({ verification_id: z.string().min(1).max(64), sms_code: z.string().regex(/^[0-9]{6}$/, '6 digits') }),
      response: { 201: boundCardSchema },
    },
  }, async (request, reply) => {
    const card = await cards.bind({ userId: caller(request).user.id, verificationId: request.body.verification_id, smsCode: request.body.sms_code });
    void reply.code(201);
    return boundCardToWire(card);
  });

  app.get('/v1/cards', {
    preHandler,
    schema: { security, tags, summary: 'The bound cards, newest first',
      description: 'At most 20 cards: each as bank, kind, last 4 and masked number (first 6 / last 4).',
      errors: [], response: { 200: z.object({ data: z.array(boundCardSchema) }) } },
  }, async (request) => ({ data: (await cards.list(caller(request).user.id)).map(boundCardToWire) }));

  app.get('/v1/cards/:id', {
    preHandler,
    schema: { security, tags, summary: 'One bound card',
      description: 'One bound card by its id (`card_…`).',
      errors: [errors.not_found], params: z.object({ id: z.string().min(1).max(64) }), response: { 200: boundCardSchema } },
  }, async (request) => boundCardToWire(await cards.get(caller(request).user.id, request.params.id)));

  app.delete('/v1/cards/:id', {
    preHandler,
    schema: { security, tags, summary: 'Unbind a card: the bank ends its quick-pay agreement',
      description: 'The bank ends its quick-pay agreement and the card\'s device cards are deleted. Unbinding the last card '
        + 'does not close the payment account.',
      errors: [errors.not_found, errors.bank_unavailable], params: z.object({ id: z.string().min(1).max(64) }), response: { 200: boundCardSchema } },
  }, async (request) => boundCardToWire(await cards.unbind(caller(request).user.id, request.params.id)));
}
