import { timingSafeEqual } from 'node:crypto';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, defineErrors, type ErrorSpec } from '../infra/http/errors.ts';
import type { App } from '../infra/http/server.ts';
import { mobilePhone } from '../infra/validation/phone.ts';
import { banks } from './banks.ts';
import { BankError, type BankErrorCode } from './client.ts';
import type { BankService } from './service.ts';

/** The bank's error catalogue: each refusal of its API, by stable code. */
export const bankErrorSpecs = {
  bad_request: { status: 400, type: 'invalid_request_error', raisedWhen: 'a field is malformed (e.g. a card number failing Luhn)' },
  unauthorized: { status: 401, type: 'authentication_error', raisedWhen: 'the partner key is missing or wrong' },
  card_unknown_bin: { status: 422, type: 'card_error', raisedWhen: 'no bank in the sandbox issues cards with this BIN' },
  card_not_found: { status: 422, type: 'card_error', raisedWhen: 'the issuer has no card account with this number' },
  card_not_active: { status: 422, type: 'card_error', raisedWhen: 'the card is reported lost, frozen or closed' },
  card_expired: { status: 422, type: 'card_error', raisedWhen: 'the card is past its expiry month' },
  holder_name_mismatch: { status: 422, type: 'verification_error', raisedWhen: 'the name is not the card holder\'s' },
  id_number_mismatch: { status: 422, type: 'verification_error', raisedWhen: 'the ID number is not the card holder\'s' },
  reserved_phone_mismatch: { status: 422, type: 'verification_error', raisedWhen: 'the phone is not the one reserved for the card' },
  verification_not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'no verification with this id was started by this requester' },
  code_wrong: { status: 422, type: 'verification_error', raisedWhen: 'the SMS code is wrong; `tries_left` says how many remain' },
  code_expired: { status: 422, type: 'verification_error', raisedWhen: 'the SMS code is older than 5 minutes' },
  code_used: { status: 422, type: 'verification_error', raisedWhen: 'the SMS code was already used once' },
  code_burned: { status: 422, type: 'verification_error', raisedWhen: 'five wrong tries burned the code' },
  rate_limited: { status: 429, type: 'rate_limit_error', raisedWhen: 'more codes were asked for this card than 1 a minute / 10 an hour' },
  agreement_not_found: { status: 404, type: 'invalid_request_error', raisedWhen: 'no quick-pay agreement with this id' },
  reference_conflict: { status: 409, type: 'idempotency_error', raisedWhen: 'the reference was already used for a different movement' },
  reference_unknown: { status: 404, type: 'invalid_request_error', raisedWhen: 'no movement was made with this reference' },
  unavailable: { status: 503, type: 'api_error', raisedWhen: 'the bank cannot answer now' },
} as const satisfies Record<BankErrorCode, ErrorSpec>;

export const bankErrors = defineErrors(bankErrorSpecs);

function toApiError(error: BankError): ApiError {
  const { param, ...details } = error.details as { param?: string } & Record<string, unknown>;
  return bankErrors[error.code](error.message, param, details);
}

/** An onRequest hook admitting only callers with one of the partner keys (`Authorization: Bearer <key>`). */
export function partnerAuthentication(partnerKeys: readonly string[]) {
  if (partnerKeys.length === 0) throw new Error('the bank API needs at least one partner key');
  const keys = partnerKeys.map((key) => Buffer.from(key));
  return async (request: { headers: { authorization?: string | undefined } }): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    const known = keys.some((key) => key.length === given.length && timingSafeEqual(key, given));
    if (!known) throw new BankError('unauthorized', 'A valid partner key is required: Authorization: Bearer <key>.');
  };
}

const cardNumber = z.string().regex(/^[0-9]{13,19}$/, '13 to 19 digits');

export interface BankHttpOptions {
  /** Keys of the partners (the platform) allowed to call the verification API. */
  partnerKeys: readonly string[];
  /** Mounts the sandbox routes (issue test cards, change a card's status). */
  sandbox: boolean;
}

export function registerBankRoutes(app: App, service: BankService, options: BankHttpOptions): void {
  app.addErrorMapper((error) => (error instanceof BankError ? toApiError(error) : undefined));

  app.register(async (instance) => {
    const partner = instance.withTypeProvider<ZodTypeProvider>();
    partner.addHook('onRequest', partnerAuthentication(options.partnerKeys));

    partner.post('/v1/card-lookups', {
      schema: {
        tags: ['partner'], security: [{ partner_key: [] }], summary: 'Which bank issues a card number (by BIN)',
        description: 'Partner key required. Answers the issuing bank and whether Mi Pay accepts its cards of that kind and '
          + 'brand, or `card: null` when no sandbox bank issues the BIN.',
        errors: [bankErrors.bad_request],
        body: z.object({ card_number: cardNumber }),
      },
    }, async (request) => {
      const card = await service.lookupCard(request.body.card_number);
      return { card: card ? { bank_code: card.bankCode, bank_name: card.bankName, bank_name_en: card.bankNameEn, kind: card.kind, brand: card.brand, mi_pay: card.miPay } : null };
    });

    partner.post('/v1/card-verifications', {
      schema: {
        tags: ['partner'], security: [{ partner_key: [] }], summary: 'Verify name, ID number, card number and reserved phone; text a code to the phone',
        description: 'Partner key required. The bank checks the four elements against its card account and texts a 6-digit '
          + 'code to the reserved phone (at most 1 a minute and 10 an hour per card). A mismatch names the element.',
        errors: [bankErrors.card_unknown_bin, bankErrors.card_not_found, bankErrors.card_not_active,
          bankErrors.card_expired, bankErrors.holder_name_mismatch, bankErrors.id_number_mismatch,
          bankErrors.reserved_phone_mismatch, bankErrors.rate_limited, bankErrors.bad_request],
        body: z.object({
          card_number: cardNumber, holder_name: z.string().min(1).max(64), id_number: z.string().min(1).max(32),
          reserved_phone: mobilePhone, requester: z.string().min(1).max(64),
          purpose: z.enum(['payment_account', 'verification_channel', 'card_binding', 'tokenization']),
        }),
      },
    }, async (request, reply) => {
      const body = request.body;
      const started = await service.startVerification({
        cardNumber: body.card_number, holderName: body.holder_name, idNumber: body.id_number,
        reservedPhone: body.reserved_phone, requester: body.requester, purpose: body.purpose,
      });
      void reply.code(201);
      return { id: started.verificationId, expires_at: started.expiresAt.toISOString(), phone_masked: started.phoneMasked };
    });

    partner.post('/v1/card-verifications/:id/confirm', {
      schema: {
        tags: ['partner'], security: [{ partner_key: [] }], summary: 'Confirm a verification with the SMS code; returns a quick-pay agreement',
        description: 'Partner key required. A right code (single use, 5 minutes, 5 tries) makes a quick-pay agreement for '
          + 'the requester; the answer carries the holder\'s details the partner verified.',
        errors: [bankErrors.verification_not_found, bankErrors.code_wrong, bankErrors.code_expired,
          bankErrors.code_used, bankErrors.code_burned],
        params: z.object({ id: z.string().min(1).max(64) }),
        body: z.object({ code: z.string().regex(/^[0-9]{6}$/, '6 digits').describe('The 6-digit code the bank texted'), requester: z.string().min(1).max(64) }),
      },
    }, async (request) => {
      const v = await service.confirmVerification({ verificationId: request.params.id, code: request.body.code, requester: request.body.requester });
      return {
        agreement_id: v.agreementId, card_ref: v.cardRef, bank_code: v.bankCode, bank_name: v.bankName, kind: v.kind, brand: v.brand, last4: v.last4,
        masked_number: v.maskedNumber, holder_name: v.holderName, id_number: v.idNumber, reserved_phone: v.reservedPhone, purpose: v.purpose,
      };
    });

    partner.post('/v1/agreements/:id/verifications', {
      schema: {
        tags: ['partner'], security: [{ partner_key: [] }], summary: 'ID&V on an agreement\'s card (tokenization): text a code to its reserved phone',
        description: 'Partner key required. Identification and verification before a card becomes a device card: a code to '
          + 'the reserved phone of the agreement\'s card.',
        errors: [bankErrors.agreement_not_found, bankErrors.card_not_active, bankErrors.card_expired,
          bankErrors.rate_limited],
        // agreement_not_found names the agreement as agreement_id (found by the HTTP fuzz, src/fuzz).
        errorParams: ['agreement_id'],
        params: z.object({ id: z.string().min(1).max(64) }),
        body: z.object({ requester: z.string().min(1).max(64), purpose: z.enum(['tokenization']) }),
      },
    }, async (request, reply) => {
      const started = await service.startAgreementVerification({ agreementId: request.params.id, requester: request.body.requester, purpose: request.body.purpose });
      void reply.code(201);
      return { id: started.verificationId, expires_at: started.expiresAt.toISOString(), phone_masked: started.phoneMasked };
    });

    // Card data for the partner's token vault: the answer carries the card number, so the route
    // is partner-only and its body is never logged.
    partner.post('/v1/agreements/:id/tokenization-data', {
      schema: {
        tags: ['partner'], security: [{ partner_key: [] }], summary: 'The card number, expiry and PAN sequence number behind a live agreement, for tokenization',
        description: 'Partner key required. For the partner\'s token vault only: the answer carries the card number, so it '
          + 'is a POST, never cached or logged.',
        errors: [bankErrors.agreement_not_found, bankErrors.card_not_active],
        params: z.object({ id: z.string().min(1).max(64) }),
      },
    }, async (request) => {
      const card = await service.getCardForTokenization(request.params.id);
      return { pan: card.pan, expiry: card.expiryYymm, pan_sequence: card.panSequence, card_ref: card.cardRef };
    });
  });

  app.get('/v1/banks', {
    schema: {
      tags: ['reference'], summary: 'The sandbox banks and the BINs they issue from',
      description: 'The banks of the sandbox, each with its BIN ranges (kind, brand, card number length) and which of its '
        + 'cards Mi Pay accepts.',
      errors: [],
    },
  }, async () => ({
    data: banks.map((bank) => ({
      code: bank.code, name: bank.nameZh, name_en: bank.nameEn, mi_pay: bank.miPay,
      bins: bank.bins.map((r) => ({ bin: r.bin, kind: r.kind, brand: r.brand, pan_length: r.panLength })),
      quick_pay_limits: { single_fen_max: Number(bank.quickPay.singleFenMax), daily_fen_max: Number(bank.quickPay.dailyFenMax) },
    })),
  }));

  if (!options.sandbox) return;

  app.post('/v1/sandbox/cards', {
    schema: {
      tags: ['sandbox'], summary: 'Issue a test card to a person; answers with the card number',
      description: 'Sandbox only. A card account with a Luhn-valid number from the bank\'s BIN range for the kind and brand, '
        + 'in the person\'s name and with their reserved phone.',
      errors: [bankErrors.bad_request],
      body: z.object({
        bank_code: z.string().min(2).max(8),
        kind: z.enum(['debit', 'credit']),
        brand: z.enum(['unionpay', 'visa']).default('unionpay'),
        holder_name: z.string().min(1).max(64),
        id_number: z.string().regex(/^[0-9]{17}[0-9Xx]$/, '18 characters: 17 digits and a digit or X'),
        reserved_phone: mobilePhone,
        balance_fen: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
        credit_limit_fen: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
        expiry: z.string().regex(/^[0-9]{2}(0[1-9]|1[0-2])$/, 'YYMM').optional(),
      }),
    },
  }, async (request, reply) => {
    const b = request.body;
    const card = await service.issueCard({
      bankCode: b.bank_code.toUpperCase(), kind: b.kind, brand: b.brand, holderName: b.holder_name, idNumber: b.id_number,
      reservedPhone: b.reserved_phone,
      ...(b.balance_fen !== undefined ? { balanceFen: BigInt(b.balance_fen) } : {}),
      ...(b.credit_limit_fen !== undefined ? { creditLimitFen: BigInt(b.credit_limit_fen) } : {}),
      ...(b.expiry ? { expiryYymm: b.expiry } : {}),
    });
    void reply.code(201);
    return {
      card_number: card.cardNumber, bank_code: card.bankCode, bank_name: card.bankName, kind: card.kind,
      brand: card.brand, expiry: card.expiryYymm, status: card.status,
    };
  });

  app.post('/v1/sandbox/cards/account', {
    schema: {
      tags: ['sandbox'], summary: 'A test card\'s account as its holder sees it in the bank\'s app: balance, credit limit, status',
      errors: [bankErrors.card_not_found],
      description: 'A POST so that the card number travels in the body, never in a URL that proxies and access logs keep.',
      body: z.object({ card_number: cardNumber }),
      response: {
        200: z.object({
          card_number_last4: z.string(), kind: z.enum(['debit', 'credit']), status: z.enum(['active', 'lost', 'frozen', 'closed']),
          balance_fen: z.number().int().describe('Debit: money on the card. Credit: negative when the holder owes the bank'),
          credit_limit_fen: z.number().int(),
        }),
      },
    },
  }, async (request) => {
    const account = await service.cardAccount(request.body.card_number);
    return {
      card_number_last4: request.body.card_number.slice(-4), kind: account.kind, status: account.status,
      balance_fen: Number(account.balanceFen), credit_limit_fen: Number(account.creditLimitFen),
    };
  });

  app.post('/v1/sandbox/cards/status', {
    schema: {
      tags: ['sandbox'], summary: 'Change a test card\'s status (report it lost, freeze, close, reactivate)',
      description: 'Sandbox only. A lost, frozen or closed card is refused by every later verification and authorization.',
      errors: [bankErrors.card_not_found],
      body: z.object({ card_number: cardNumber, status: z.enum(['active', 'lost', 'frozen', 'closed']) }),
    },
  }, async (request) => {
    await service.setCardStatus(request.body.card_number, request.body.status);
    return { card_number_last4: request.body.card_number.slice(-4), status: request.body.status };
  });
}
