import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { transactionWithRetry } from '../../infra/db/database.ts';
import { newId } from '../../infra/ids.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import { paymentBindingLines, verifyDeviceSignature, type PaymentBinding } from '../devices/device-key.ts';
import { errors } from '../errors.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';
import type { PlatformTables } from '../tables.ts';
import type { PaymentCertificateAuthority } from './authority.ts';

export type PaymentCertificate = PlatformTables['payment_certificates'];

/**
 * The "digital certificate + two factors" tier (PBOC [2015] No. 43, Art. 24): the daily limit of
 * payments signed with a certificate is what the holder agreed, within this platform maximum.
 */
export const certificateDailyLimitFenMax = 20_000_000n;
export const activeCertificatesMax = 5;
export const certificateValidityDaysMax = 365;
export const certificateChallengeLifetimeMs = 2 * 60_000;
/** A signed payment whose timestamp is further than this from the platform's clock is refused. */
const signatureClockSkewMaxMs = 5 * 60_000;

export const revocationReasons = ['user_request', 'device_lost', 'key_compromise'] as const;
export type RevocationReason = (typeof revocationReasons)[number];

/**
 * The exact bytes signed with a payment certificate's key (ECDSA P-256, SHA-256, DER, base64):
 * a version tag, the certificate's serial number, the platform's nonce, the phone's timestamp,
 * then the payment binding (amount in fen, payee or order), one per line.
 */
export function certificatePaymentMessage(input: { serialNumber: string; nonce: string; timestamp: string; payment: PaymentBinding }): Buffer {
  return Buffer.from(['mipay-certificate-payment-v1', input.serialNumber, input.nonce, input.timestamp,
    ...paymentBindingLines(input.payment)].join('\n'), 'utf8');
}

/**
 * Payment certificates: enrolled on a CSR from the phone (its key pair never leaves the phone)
 * after the payment password and an SMS code, issued by the platform's CA, listed, revoked; and
 * the check of a payment signed with one.
 */
export class PaymentCertificates {
  readonly #db: Kysely<PlatformTables>;
  readonly #ca: () => Promise<PaymentCertificateAuthority>;
  readonly #paymentAccounts: PaymentAccountService;
  readonly #codes: SmsCodes;
  readonly #clock: () => Date;

  /** `ca` is made on first use (enrolment, a certificate-signed payment), and once. */
  constructor(deps: { db: Kysely<PlatformTables>; ca: () => Promise<PaymentCertificateAuthority>; paymentAccounts: PaymentAccountService; codes: SmsCodes; clock: () => Date }) {
    this.#db = deps.db;
    let ca: Promise<PaymentCertificateAuthority> | undefined;
    this.#ca = () => (ca ??= deps.ca());
    this.#paymentAccounts = deps.paymentAccounts;
    this.#codes = deps.codes;
    this.#clock = deps.clock;
  }

  async caCertificatePem(): Promise<string> {
    return (await this.#ca()).certificate.toString('pem');
  }

  async enrol(userId: string,
    input: { csr: string; dailyLimitFen: bigint; validDays: number; paymentPassword: string; smsCode: string }): Promise<PaymentCertificate> {
    if (input.dailyLimitFen <= 0n || input.dailyLimitFen > certificateDailyLimitFenMax) {
      throw errors.parameter_invalid(`daily_limit_fen must be between 1 and ${certificateDailyLimitFenMax}.`,
        'daily_limit_fen');
    }
    if (!Number.isInteger(input.validDays) || input.validDays < 1 || input.validDays > certificateValidityDaysMax) {
      throw errors.parameter_invalid(`valid_days must be between 1 and ${certificateValidityDaysMax}.`, 'valid_days');
    }
    const ca = await this.#ca();
    const read = await ca.readRequest(input.csr);
    if ('problem' in read) throw errors.certificate_request_invalid(`The CSR is not acceptable: ${read.problem}.`,
      'csr');
    const account = await this.#paymentAccounts.requireByUser(userId);
    if (account.status !== 'active') throw errors.payment_account_not_found(`The payment account is ${account.status}.`);
    await this.#paymentAccounts.verifyPaymentPassword(userId, input.paymentPassword);
    const user = await this.#db.selectFrom('users').select(['phone', 'mi_number']).where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const now = this.#clock();
    const notAfter = new Date(now.getTime() + input.validDays * 86_400_000);
    const issued = await ca.issue(read.request, `CN=${user.mi_number}, O=Mi Pay Open payment certificate`, now,
      notAfter);
    const outcome = await transactionWithRetry(this.#db, async (trx) => {
      const consumed = await this.#codes.consume(trx, user.phone, 'payment_certificate', input.smsCode);
      if (consumed.error) return { error: consumed.error };
      const active = await trx.selectFrom('payment_certificates').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId).where('status', '=', 'active').where('not_after', '>', now)
          .executeTakeFirstOrThrow();
      if (Number(active.n) >= activeCertificatesMax) {
        return { refusal: errors.payment_certificates_limit(`At most ${activeCertificatesMax} active payment certificates; revoke one first.`, 'csr') };
      }
      const row: PaymentCertificate = {
        id: newId('pcert'), user_id: userId, serial_number: issued.serialNumber, subject: issued.subject, certificate_pem: issued.pem,
        public_key: issued.publicKeySpki, daily_limit_fen: input.dailyLimitFen, status: 'active', not_before: issued.notBefore,
        not_after: issued.notAfter, revoked_at: null, revocation_reason: null, created_at: now,
      };
      await trx.insertInto('payment_certificates').values(row).execute();
      return { row };
    });
    // A wrong code is reported after its counted try committed.
    if ('error' in outcome) throw outcome.error;
    if ('refusal' in outcome) throw outcome.refusal;
    return outcome.row;
  }

  async list(userId: string): Promise<PaymentCertificate[]> {
    return this.#db.selectFrom('payment_certificates').selectAll().where('user_id', '=', userId)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(50).execute();
  }

  /** `param` is the request field that named the certificate (the path's `id`, or a payment's `certificate.certificate_id`). */
  async get(userId: string, id: string, param = 'id'): Promise<PaymentCertificate> {
    const row = await this.#db.selectFrom('payment_certificates').selectAll().where('id', '=', id).where('user_id',
      '=', userId).executeTakeFirst();
    if (!row) throw errors.not_found('No payment certificate with this id on this account.', param);
    return row;
  }

  /** Revokes a certificate; payments signed with it are refused from now on, with the reason. Revoking twice keeps the first. */
  async revoke(userId: string, id: string, reason: RevocationReason): Promise<PaymentCertificate> {
    const row = await this.get(userId, id);
    if (row.status === 'revoked') return row;
    const now = this.#clock();
    await this.#db.updateTable('payment_certificates').set({ status: 'revoked', revoked_at: now,
      revocation_reason: reason })
      .where('id', '=', id).where('status', '=', 'active').execute();
    return this.get(userId, id);
  }

  /** A single-use nonce (2 minutes) for the phone to sign a payment with this certificate. */
  async createChallenge(userId: string, id: string): Promise<{ nonce: string; expiresAt: Date }> {
    const row = this.#requireUsable(await this.get(userId, id), 'id');
    const now = this.#clock();
    const challenge = { nonce: randomBytes(16).toString('base64url'), certificate_id: row.id,
      expires_at: new Date(now.getTime() + certificateChallengeLifetimeMs), used_at: null, created_at: now };
    await this.#db.insertInto('certificate_challenges').values(challenge).execute();
    return { nonce: challenge.nonce, expiresAt: challenge.expires_at };
  }

  /**
   * Checks a payment signed with a certificate: the certificate is the payer's, active, within its
   * validity and issued by this CA; the nonce is live and unused (used up now, whatever follows);
   * the timestamp is near now; the signature verifies over this payment. Answers the certificate,
   * whose agreed daily limit then applies.
   */
  async verifyPaymentSignature(userId: string,
    statement: { certificateId: string; nonce: string; timestamp: string; signature: string }, payment: PaymentBinding): Promise<PaymentCertificate> {
    const param = 'certificate.certificate_id';
    const row = this.#requireUsable(await this.get(userId, statement.certificateId, param), param);
    const now = this.#clock();
    const stated = new Date(statement.timestamp);
    if (Number.isNaN(stated.getTime())) throw errors.parameter_invalid('The timestamp is not an ISO 8601 time.',
      'certificate.timestamp');
    const used = await this.#db.updateTable('certificate_challenges').set({ used_at: now })
      .where('nonce', '=', statement.nonce).where('certificate_id', '=', row.id).where('used_at', 'is', null)
        .where('expires_at', '>', now)
      .executeTakeFirst();
    if (used.numUpdatedRows === 0n) throw errors.payment_challenge_invalid('The challenge is unknown, already used or expired; ask for a new one.', 'certificate.nonce');
    if (Math.abs(stated.getTime() - now.getTime()) > signatureClockSkewMaxMs) {
      throw errors.payment_signature_invalid('The signed timestamp is too far from now.', 'certificate.timestamp');
    }
    if (!(await (await this.#ca()).issued(row.certificate_pem))) {
      throw errors.payment_signature_invalid('The certificate was not issued by this platform\'s current CA; enrol a new one.', 'certificate.certificate_id');
    }
    const message = certificatePaymentMessage({ serialNumber: row.serial_number, nonce: statement.nonce,
      timestamp: statement.timestamp, payment });
    if (!verifyDeviceSignature(row.public_key, message, statement.signature)) {
      throw errors.payment_signature_invalid('The signature does not verify over this payment under the certificate\'s key.', 'certificate.signature');
    }
    return row;
  }

  #requireUsable(row: PaymentCertificate, param: string): PaymentCertificate {
    const now = this.#clock();
    if (row.status === 'revoked') {
      throw errors.payment_certificate_revoked(`The payment certificate was revoked (${row.revocation_reason}).`,
        param, {
        reason: row.revocation_reason, revoked_at: row.revoked_at?.toISOString() ?? null,
      });
    }
    if (row.not_after <= now) {
      throw errors.payment_certificate_expired(`The payment certificate expired at ${row.not_after.toISOString()}; enrol a new one.`, param, {
        not_after: row.not_after.toISOString(),
      });
    }
    return row;
  }
}
