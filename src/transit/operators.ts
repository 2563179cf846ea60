// Every brand's operator and the T-Union clearing centre behind one interface: a request is
// dispatched to the operator of the card's brand (by card number prefix) or of the named brand.
import type { Kysely } from 'kysely';
import { brandOfCard, BRANDS, brandByCode } from './brands.ts';
import { TransitError, type TransitOperatorClient } from './client.ts';
import { BrandOperator, type OperatorKeys } from './operator.ts';
import { ClearingCentre, settleUpload, UPLOAD_RECORDS_MAX } from './settlement.ts';
import type { TransitTables } from './tables.ts';

export class TransitOperators implements TransitOperatorClient {
  readonly #db: Kysely<TransitTables>;
  readonly #clock: () => Date;
  readonly #operators = new Map<string, BrandOperator>();
  readonly clearing: ClearingCentre;

  /** `keys`: each brand's master keys, from the keyring (a brand without keys is not run). */
  constructor(options: { db: Kysely<TransitTables>; keys: ReadonlyMap<string, OperatorKeys>; clock?: () => Date }) {
    this.#db = options.db;
    this.#clock = options.clock ?? (() => new Date());
    for (const brand of BRANDS) {
      const keys = options.keys.get(brand.code);
      if (keys) this.#operators.set(brand.code, new BrandOperator({ brand, keys, db: this.#db, clock: this.#clock }));
    }
    this.clearing = new ClearingCentre([...this.#operators.values()]);
  }

  #byBrand(code: string): BrandOperator {
    const operator = this.#operators.get(code);
    if (!operator) throw new TransitError('brand_unknown', `No transit brand ${code}; see GET /v1/brands.`, 'brandCode');
    return operator;
  }

  #byCard(cardNumber: string): BrandOperator {
    if (!/^[0-9]{16}$/.test(cardNumber)) throw new TransitError('bad_request', 'A transit card number is 16 digits.', 'cardNumber');
    const brand = brandOfCard(cardNumber);
    const operator = brand && this.#operators.get(brand.code);
    if (!operator) throw new TransitError('card_unknown', `No operator issues card ${cardNumber}.`, 'cardNumber');
    return operator;
  }

  async brands() {
    return BRANDS.filter((b) => this.#operators.has(b.code));
  }

  async issueCard(input: { brandCode: string; requestId: string; carriedFrom?: string }) {
    if (!brandByCode(input.brandCode)) throw new TransitError('brand_unknown', `No transit brand ${input.brandCode}.`, 'brandCode');
    return this.#byBrand(input.brandCode).issueCard(input.requestId, input.carriedFrom);
  }

  signLoad(input: Parameters<TransitOperatorClient['signLoad']>[0]) {
    return this.#byCard(input.cardNumber).signLoad(input);
  }

  async #loadOperator(loadId: string): Promise<BrandOperator> {
    const load = await this.#db.selectFrom('loads').select('card_number').where('load_id', '=', loadId).executeTakeFirst();
    if (!load) throw new TransitError('load_not_found', `No load ${loadId}.`, 'loadId');
    return this.#byCard(load.card_number);
  }

  async confirmLoad(input: { loadId: string; tac: string }) {
    return (await this.#loadOperator(input.loadId)).confirmLoad(input.loadId, input.tac);
  }

  async voidLoad(input: { loadId: string }) {
    return (await this.#loadOperator(input.loadId)).voidLoad(input.loadId);
  }

  async upload(input: Parameters<TransitOperatorClient['upload']>[0]) {
    if (input.records.length > UPLOAD_RECORDS_MAX) {
      throw new TransitError('bad_request', `An upload holds at most ${UPLOAD_RECORDS_MAX} records.`, 'records');
    }
    return settleUpload(this.#db, { acquirer: this.#byBrand(input.brandCode), clearing: this.clearing, gateId: input.gateId, records: input.records, now: this.#clock() });
  }

  blacklist(brandCode: string) {
    return this.#byBrand(brandCode).blacklist();
  }

  block(input: { cardNumber: string; reason: string }) {
    return this.#byCard(input.cardNumber).block(input.cardNumber, input.reason);
  }

  records(cardNumber: string) {
    return this.#byCard(cardNumber).records(cardNumber);
  }

  closeChallenge(input: { cardNumber: string }) {
    return this.#byCard(input.cardNumber).closeChallenge(input.cardNumber);
  }

  closeCard(input: Parameters<TransitOperatorClient['closeCard']>[0]) {
    return this.#byCard(input.cardNumber).closeCard(input.cardNumber, input.reason, input.proof);
  }

  finalBalance(input: { cardNumber: string }) {
    return this.#byCard(input.cardNumber).finalBalance(input.cardNumber);
  }
}
