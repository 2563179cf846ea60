// A user's way into Mi Pay on a sandbox system, over the public HTTP APIs only (as the wallet
// app and a bank's test desk would): a Mi account verified by SMS, a card issued by a sandbox
// bank, the payment account opened with it (the bank's four-element check and SMS code), and
// more cards bound for quick pay. `mipay demo` prints these steps; `npm run bench -- tap` uses
// them to set up its phones. SMS codes are read from the sandbox carrier's outbox.
import { PlatformClient } from '../platform/client.ts';
import { residentIdCheckCharacter } from '../protocols/resident-id.ts';

export interface SandboxUrls {
  platformUrl: string;
  bankUrl: string;
}

export interface IssuedCard {
  cardNumber: string;
  bankName: string;
  kind: 'debit' | 'credit';
  expiry: string;
}

/** A valid GB 11643 resident ID number for a birth date (YYYY-MM-DD) and a sequence (0–499), in Beijing's Dongcheng district. */
export function sandboxResidentId(birthDate: string, sequence: number): string {
  const first17 = `110101${birthDate.replaceAll('-', '')}${String(100 + (sequence % 500)).padStart(3, '0')}`;
  return first17 + residentIdCheckCharacter(first17);
}

export class SandboxJourney {
  readonly platform: PlatformClient;
  readonly bank: PlatformClient;
  /** The session token once signed up. */
  token: string | undefined;

  constructor(urls: SandboxUrls) {
    this.platform = new PlatformClient(urls.platformUrl);
    this.bank = new PlatformClient(urls.bankUrl);
  }

  /** The newest 6-digit code the sandbox carrier delivered to `phone`. */
  async latestSmsCode(phone: string): Promise<string> {
    const outbox = await this.platform.call<{ data: { text: string }[] }>({ method: 'GET', path: `/v1/sandbox/sms?phone=${phone}&limit=1` });
    const code = outbox.data[0]?.text.match(/[0-9]{6}/)?.[0];
    if (!code) throw new Error(`no code was texted to ${phone}`);
    return code;
  }

  /** Sign-up with a code texted to the phone, then a session. */
  async signUp(input: { phone: string; password: string; nickname: string }): Promise<{ userId: string; token: string }> {
    await this.platform.call({ method: 'POST', path: '/v1/sms-codes', body: { phone: input.phone, purpose: 'sign_up' } });
    const code = await this.latestSmsCode(input.phone);
    const user = await this.platform.call<{ id: string }>({
      method: 'POST', path: '/v1/accounts', body: { phone: input.phone, sms_code: code, password: input.password, nickname: input.nickname },
    });
    const session = await this.platform.call<{ token: string }>({ method: 'POST', path: '/v1/sessions', body: { phone: input.phone, password: input.password } });
    this.token = session.token;
    return { userId: user.id, token: session.token };
  }

  /** A sandbox bank issues a card to a person (the bank's test desk). */
  async issueCard(input: { bank: string; kind: 'debit' | 'credit'; holderName: string; idNumber: string; reservedPhone: string; balanceFen?: number; creditLimitFen?: number }): Promise<IssuedCard> {
    const card = await this.bank.call<{ card_number: string; bank_name: string; kind: 'debit' | 'credit'; expiry: string }>({
      method: 'POST', path: '/v1/sandbox/cards',
      body: {
        bank_code: input.bank, kind: input.kind, holder_name: input.holderName, id_number: input.idNumber, reserved_phone: input.reservedPhone,
        ...(input.balanceFen !== undefined ? { balance_fen: input.balanceFen } : {}),
        ...(input.creditLimitFen !== undefined ? { credit_limit_fen: input.creditLimitFen } : {}),
      },
    });
    return { cardNumber: card.card_number, bankName: card.bank_name, kind: card.kind, expiry: card.expiry };
  }

  /** Opens the payment account with a card in the holder's name: the bank verifies and texts its reserved phone. */
  async openPaymentAccount(input: { name: string; idNumber: string; cardNumber: string; reservedPhone: string; paymentPassword: string }): Promise<{ id: string; accountClass: string }> {
    const applied = await this.platform.call<{ verification_id: string }>({
      method: 'POST', path: '/v1/payment-account/applications', token: this.#session(),
      body: { name: input.name, id_number: input.idNumber, card_number: input.cardNumber, reserved_phone: input.reservedPhone },
    });
    const code = await this.latestSmsCode(input.reservedPhone);
    const account = await this.platform.call<{ id: string; class: string }>({
      method: 'POST', path: '/v1/payment-account', token: this.#session(),
      body: { verification_id: applied.verification_id, sms_code: code, payment_password: input.paymentPassword },
    });
    return { id: account.id, accountClass: account.class };
  }

  /** Binds another card in the holder's name for quick pay (the bank's SMS code to its reserved phone). */
  async bindCard(input: { cardNumber: string; reservedPhone: string }): Promise<{ id: string }> {
    const applied = await this.platform.call<{ verification_id: string }>({
      method: 'POST', path: '/v1/cards/applications', token: this.#session(), body: { card_number: input.cardNumber, reserved_phone: input.reservedPhone },
    });
    const code = await this.latestSmsCode(input.reservedPhone);
    return this.platform.call<{ id: string }>({
      method: 'POST', path: '/v1/cards', token: this.#session(), body: { verification_id: applied.verification_id, sms_code: code },
    });
  }

  #session(): string {
    if (!this.token) throw new Error('sign up first');
    return this.token;
  }
}
