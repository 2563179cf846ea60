import type { Kysely } from 'kysely';
import type { BankClient } from '../../bank/client.ts';
import { errors } from '../errors.ts';
import { callBank } from '../bank-refusal.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';
import { recordBoundCard, type BoundCard } from './bound-cards.ts';
import { requireValidCardNumber } from '../payment-account/identity.ts';
import type { PlatformTables } from '../tables.ts';

export type { BoundCard } from './bound-cards.ts';

/** Bound cards per user: enough for every bank of the sandbox, few enough to list on one screen. */
export const boundCardsPerUserMax = 20;

/** Keeps a card the bank verified (by SMS code) as a quick-pay card of the account, inside the caller's transaction. */
/**
 * Quick pay (快捷支付) bank cards: bound after the issuing bank verifies the card in the payment
 * account holder's name with an SMS code; they fund top-ups and payments and are the source of
 * device cards.
 */
export class CardService {
  readonly #db: Kysely<PlatformTables>;
  readonly #bank: BankClient;
  readonly #paymentAccounts: PaymentAccountService;
  readonly #clock: () => Date;
  readonly #unbindHooks: ((card: BoundCard) => Promise<void>)[] = [];

  constructor(db: Kysely<PlatformTables>, bank: BankClient, paymentAccounts: PaymentAccountService, clock: () => Date) {
    this.#db = db;
    this.#bank = bank;
    this.#paymentAccounts = paymentAccounts;
    this.#clock = clock;
  }

  /** Step 1: the bank checks the card is the holder's and texts a code to its reserved phone. */
  async apply(input: { userId: string; cardNumber: string; reservedPhone: string }) {
    requireValidCardNumber(input.cardNumber);
    const account = await this.#paymentAccounts.requireByUser(input.userId);
    const count = await this.#db.selectFrom('bound_cards').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', input.userId).where('status', '=', 'active').executeTakeFirstOrThrow();
    if (Number(count.n) >= boundCardsPerUserMax) throw errors.bound_cards_limit(`At most ${boundCardsPerUserMax} cards can be bound; unbind one first.`, 'card_number');
    const issuer = await callBank(() => this.#bank.lookupCard(input.cardNumber));
    if (!issuer) throw errors.card_bin_unknown('No supported bank issues cards with this BIN.', 'card_number');
    const started = await callBank(() => this.#bank.startVerification({
      cardNumber: input.cardNumber, holderName: account.holder_name, idNumber: this.#paymentAccounts.idNumberOf(account), reservedPhone: input.reservedPhone,
      requester: input.userId, purpose: 'card_binding',
    }));
    return { ...started, bankName: issuer.bankName };
  }

  /** Step 2: the code confirms the card; it is bound unless this user already has it bound. */
  async bind(input: { userId: string; verificationId: string; smsCode: string }): Promise<BoundCard> {
    const account = await this.#paymentAccounts.requireByUser(input.userId);
    const verified = await callBank(() => this.#bank.confirmVerification({ verificationId: input.verificationId, code: input.smsCode, requester: input.userId }));
    if (verified.purpose !== 'card_binding') throw errors.verification_not_found('This verification was not started to bind a card.', 'verification_id');
    if (verified.idNumber !== this.#paymentAccounts.idNumberOf(account)) throw errors.identity_mismatch('The card belongs to someone else.', 'verification_id');
    try {
      return await this.#db.transaction().execute((trx) => recordBoundCard(trx, { userId: input.userId, accountId: account.id, verified, now: this.#clock() }));
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error;
      // Already bound: the fresh agreement is not needed, so the bank is told to end it.
      await callBank(() => this.#bank.revokeAgreement(verified.agreementId));
      throw errors.card_already_bound('This card is already bound to your account.', 'verification_id');
    }
  }

  async list(userId: string): Promise<BoundCard[]> {
    return this.#db.selectFrom('bound_cards').selectAll().where('user_id', '=', userId).where('status', '=', 'active')
      .orderBy('bound_at', 'desc').orderBy('id', 'desc').limit(boundCardsPerUserMax).execute();
  }

  /** `param` is the request field that carried the id: `id` in a path, `card_id` in a payment's body. */
  async get(userId: string, cardId: string, param = 'id'): Promise<BoundCard> {
    const card = await this.#db.selectFrom('bound_cards').selectAll().where('id', '=', cardId).where('user_id', '=', userId)
      .where('status', '=', 'active').executeTakeFirst();
    if (!card) throw errors.not_found('No bound card with this id on this account.', param);
    return card;
  }

  /** Other domains act on an unbound card (tokens delete its device cards); registered at wiring. */
  onUnbind(hook: (card: BoundCard) => Promise<void>): void {
    this.#unbindHooks.push(hook);
  }

  /** Ends the quick-pay agreement at the bank, then forgets the card. Repeating it is harmless at the bank. */
  async unbind(userId: string, cardId: string): Promise<BoundCard> {
    const card = await this.get(userId, cardId);
    await callBank(() => this.#bank.revokeAgreement(card.agreement_id));
    const now = this.#clock();
    await this.#db.updateTable('bound_cards').set({ status: 'unbound', unbound_at: now }).where('id', '=', card.id).execute();
    for (const hook of this.#unbindHooks) await hook(card);
    return { ...card, status: 'unbound', unbound_at: now };
  }
}
