import type { Kysely } from 'kysely';
import { assertPin } from '../../protocols/crypto/errors.ts';
import { findBin } from '../banks.ts';
import { BankError } from '../client.ts';
import type { CardPersonalization } from '../client.ts';
import { cardMasterKeyAc, cryptogramVersionOf, pinVerificationValue, type IssuerKeyStore } from './issuer-keys.ts';
import type { AuthorizationTables } from './tables.ts';

/**
 * The bank's card bureau: what goes into a card's chip (PAN, PSN, expiry, MK-AC derived by
 * EMV Option A, the ATC to continue from) and the card's PIN, of which only a verification
 * value is kept. In the sandbox the chip data is handed to whoever asks, so a contactless card
 * can be emulated; a production bureau sends it only to the card personalisation machine.
 */
export class CardPersonalizer {
  readonly #db: Kysely<AuthorizationTables>;
  readonly #keys: IssuerKeyStore;

  constructor(db: Kysely<AuthorizationTables>, keys: IssuerKeyStore) {
    this.#db = db;
    this.#keys = keys;
  }

  async personalize(pan: string, options: { pin?: string; onlinePinAlways?: boolean } = {}): Promise<CardPersonalization> {
    const card = await this.#db.selectFrom('card_accounts').selectAll().where('pan', '=', pan).executeTakeFirst();
    const issuer = findBin(pan);
    if (!card || !issuer) throw new BankError('card_not_found', 'This bank has no card with that number.', { param: 'card_number' });
    if (options.pin !== undefined) await this.setPin(pan, options.pin);
    await this.#db.insertInto('card_authorization_state').values({ pan, last_atc: 0, pin_verification_value: null, pin_wrong_tries: 0, held_fen: 0n })
      .onConflict((oc) => oc.column('pan').doNothing()).execute();
    const keys = await this.#keys.keysFor(issuer.bank.code);
    const state = await this.#db.selectFrom('card_authorization_state').select('last_atc').where('pan', '=', pan).executeTakeFirst();
    return {
      pan, panSequence: card.pan_sequence, expiryYymm: card.expiry_yymm, holderName: card.holder_name,
      acAlgorithm: keys.acAlgorithm, cryptogramVersion: cryptogramVersionOf[keys.acAlgorithm],
      cardMasterKeyAcHex: cardMasterKeyAc(keys, pan, card.pan_sequence).toString('hex'),
      atc: state?.last_atc ?? 0, onlinePinAlways: options.onlinePinAlways ?? false,
    };
  }

  /** Sets (or resets) the card's PIN; also clears the wrong-try counter. */
  async setPin(pan: string, pin: string): Promise<void> {
    try {
      assertPin(pin);
    } catch {
      throw new BankError('bad_request', 'A PIN is 4 to 12 digits.', { param: 'pin' });
    }
    const issuer = findBin(pan);
    if (!issuer) throw new BankError('card_not_found', 'This bank has no card with that number.', { param: 'card_number' });
    const keys = await this.#keys.keysFor(issuer.bank.code);
    const pvv = pinVerificationValue(keys, pan, pin);
    await this.#db.insertInto('card_authorization_state')
      .values({ pan, last_atc: 0, pin_verification_value: pvv, pin_wrong_tries: 0, held_fen: 0n })
      .onConflict((oc) => oc.column('pan').doUpdateSet({ pin_verification_value: pvv, pin_wrong_tries: 0 }))
      .execute();
  }

  /** The amount on hold on a card (0100 approvals not yet reversed). */
  async heldFen(pan: string): Promise<bigint> {
    const state = await this.#db.selectFrom('card_authorization_state').select('held_fen').where('pan', '=', pan).executeTakeFirst();
    return state?.held_fen ?? 0n;
  }
}
