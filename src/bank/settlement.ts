import { sql, type Kysely } from 'kysely';
import { transactionWithRetry } from '../infra/db/database.ts';
import { newId } from '../infra/ids.ts';
import { BankError, type AgreementTransfer, type AgreementTransferRequest } from './client.ts';
import { findBank } from './banks.ts';
import { isExpired } from './card-expiry.ts';
import type { BankTables } from './tables.ts';

export interface SettlementTables {
  partner_accounts: { partner: string; balance_fen: bigint };
  agreement_transfers: {
    id: string; reference: string; agreement_id: string; direction: 'debit' | 'credit'; amount_fen: bigint;
    status: 'succeeded' | 'declined'; decline_code: string | null; created_at: Date;
    /** The quick-pay limit a declined debit would have passed, kept so a retry answers the same refusal. */
    limit_fen: bigint | null;
  };
}

type Tables = BankTables & SettlementTables;

/** The one partner of the sandbox banks: the platform, whose settlement account each bank keeps. */
export const platformPartner = 'platform';

/**
 * Quick-pay movements on an agreement (快捷支付): a debit takes money from the card account into
 * the partner's settlement account (a top-up, a card payment), a credit pays it back out (a
 * withdrawal, a refund). Each is applied once per partner reference: a retry answers the first
 * outcome, a reference reused for another movement is refused.
 */
export class SettlementService {
  readonly #db: Kysely<Tables>;
  readonly #clock: () => Date;

  constructor(db: Kysely<BankTables>, clock: () => Date = () => new Date()) {
    this.#db = db as unknown as Kysely<Tables>;
    this.#clock = clock;
  }

  async transfer(request: AgreementTransferRequest): Promise<AgreementTransfer> {
    if (request.amountFen <= 0n) throw new BankError('bad_request', 'The amount must be positive.', { param: 'amount_fen' });
    const now = this.#clock();
    const attempt = () => transactionWithRetry(this.#db, async (trx) => {
      const agreement = await trx.selectFrom('agreements').selectAll().where('id', '=', request.agreementId).executeTakeFirst();
      if (!agreement) return { error: new BankError('agreement_not_found', 'No quick-pay agreement with this id.', { param: 'agreement_id' }) };
      // The card row is locked first and the partner row second, always: no two movements deadlock.
      const card = await trx.selectFrom('card_accounts').selectAll().where('pan', '=', agreement.pan).forUpdate().executeTakeFirstOrThrow();
      // Looked up under the card's lock: a concurrent twin on this card has committed by now.
      const previous = await trx.selectFrom('agreement_transfers').selectAll().where('reference', '=', request.reference).executeTakeFirst();
      if (previous) return { previous };
      await trx.insertInto('partner_accounts').values({ partner: platformPartner, balance_fen: 0n })
        .onConflict((oc) => oc.column('partner').doNothing()).execute();
      const partner = await trx.selectFrom('partner_accounts').selectAll().where('partner', '=', platformPartner).forUpdate().executeTakeFirstOrThrow();

      let declineCode: AgreementTransfer['declineCode'] = null;
      if (agreement.revoked_at) declineCode = 'agreement_revoked';
      else if (card.status !== 'active') declineCode = 'card_not_active';
      else if (isExpired(card.expiry_yymm, now)) declineCode = 'card_expired';
      else if (request.direction === 'debit' && card.balance_fen + card.credit_limit_fen < request.amountFen) declineCode = 'insufficient_funds';
      else if (request.direction === 'credit' && partner.balance_fen < request.amountFen) declineCode = 'settlement_insufficient';
      let limitFen: bigint | null = null;
      if (!declineCode && request.direction === 'debit') {
        // The bank's own quick-pay limits, per agreement; the card's row lock serialises the day's sum.
        const limits = findBank(card.bank_code)!.quickPay;
        const debitedToday = await trx.selectFrom('agreement_transfers').select(sql<string>`coalesce(sum(amount_fen), 0)`.as('fen'))
          .where('agreement_id', '=', agreement.id).where('direction', '=', 'debit').where('status', '=', 'succeeded')
          .where('created_at', '>=', beijingDayStart(now)).executeTakeFirstOrThrow();
        if (request.amountFen > limits.singleFenMax) [declineCode, limitFen] = ['quick_pay_single_limit', limits.singleFenMax];
        else if (BigInt(debitedToday.fen) + request.amountFen > limits.dailyFenMax) [declineCode, limitFen] = ['quick_pay_daily_limit', limits.dailyFenMax];
      }

      const row: SettlementTables['agreement_transfers'] = {
        id: newId('btr'), reference: request.reference, agreement_id: agreement.id, direction: request.direction,
        amount_fen: request.amountFen, status: declineCode ? 'declined' : 'succeeded', decline_code: declineCode, created_at: now,
        limit_fen: limitFen,
      };
      await trx.insertInto('agreement_transfers').values(row).execute();
      if (!declineCode) {
        const delta = request.direction === 'debit' ? -request.amountFen : request.amountFen;
        await trx.updateTable('card_accounts').set({ balance_fen: sql`balance_fen + ${delta}` }).where('pan', '=', card.pan).execute();
        await trx.updateTable('partner_accounts').set({ balance_fen: sql`balance_fen - ${delta}` }).where('partner', '=', platformPartner).execute();
      }
      return { created: row };
    });
    let outcome: Awaited<ReturnType<typeof attempt>>;
    try {
      outcome = await attempt();
    } catch (error) {
      // The same reference raced in on another card's lock: the unique index kept it single;
      // running again finds the first one.
      if ((error as { code?: string }).code !== '23505') throw error;
      outcome = await attempt();
    }
    if ('error' in outcome) throw outcome.error;
    if ('previous' in outcome && outcome.previous) {
      const p = outcome.previous;
      if (p.agreement_id !== request.agreementId || p.direction !== request.direction || p.amount_fen !== request.amountFen) {
        throw new BankError('reference_conflict', 'This reference was already used for another movement.', { param: 'reference' });
      }
      return toTransfer(p);
    }
    return toTransfer(outcome.created!);
  }

  /** The outcome of an earlier movement, by the partner's reference (for recovery after a lost answer). */
  async findTransfer(reference: string): Promise<AgreementTransfer | undefined> {
    const row = await this.#db.selectFrom('agreement_transfers').selectAll().where('reference', '=', reference).executeTakeFirst();
    return row ? toTransfer(row) : undefined;
  }

  /** Ends an agreement (card unbound); later movements on it are declined. Repeating it is harmless. */
  async revokeAgreement(agreementId: string): Promise<void> {
    const result = await this.#db.updateTable('agreements').set({ revoked_at: this.#clock() })
      .where('id', '=', agreementId).where('revoked_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows === 0n) {
      const exists = await this.#db.selectFrom('agreements').select('id').where('id', '=', agreementId).executeTakeFirst();
      if (!exists) throw new BankError('agreement_not_found', 'No quick-pay agreement with this id.', { param: 'agreement_id' });
    }
  }

  async partnerBalance(): Promise<bigint> {
    const row = await this.#db.selectFrom('partner_accounts').select('balance_fen').where('partner', '=', platformPartner).executeTakeFirst();
    return row?.balance_fen ?? 0n;
  }
}

function toTransfer(row: SettlementTables['agreement_transfers']): AgreementTransfer {
  return {
    transferId: row.id, reference: row.reference, agreementId: row.agreement_id, direction: row.direction,
    amountFen: row.amount_fen, status: row.status, declineCode: row.decline_code as AgreementTransfer['declineCode'], createdAt: row.created_at,
    limitFen: row.limit_fen === null ? null : BigInt(row.limit_fen),
  };
}

/** The bank's day starts at 00:00 Beijing time, whatever the server's zone. */
export function beijingDayStart(at: Date): Date {
  const beijingMs = at.getTime() + 8 * 3_600_000;
  return new Date(beijingMs - (beijingMs % 86_400_000) - 8 * 3_600_000);
}
