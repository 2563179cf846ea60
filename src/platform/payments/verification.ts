import type { PaymentCertificates } from '../certificates/service.ts';
import type { PaymentBinding } from '../devices/device-key.ts';
import type { DeviceService } from '../devices/service.ts';
import { errors } from '../errors.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';

/** A fingerprint result the phone signed with its device key, bound to one payment (devices/device-key.ts). */
export interface FingerprintStatement {
  deviceId: string;
  nonce: string;
  timestamp: string;
  signature: string;
}

/** A payment signed with a payment certificate's key (certificates/service.ts). */
export interface CertificateStatement {
  certificateId: string;
  nonce: string;
  timestamp: string;
  signature: string;
}

/**
 * How the payer verifies a payment. One factor is the payment password or a fingerprint
 * statement (the password always remains); a payment certificate's signature is another; an SMS
 * code sent with purpose `payment` is another.
 */
export interface Verification {
  paymentPassword?: string | undefined;
  fingerprint?: FingerprintStatement | undefined;
  certificate?: CertificateStatement | undefined;
  /** A code sent with purpose `payment` to the account's phone; consumed in the payment's own transaction. */
  smsCode?: string | undefined;
}

/** The factors checked before the payment is recorded (the SMS code is added when it is consumed). */
export interface VerifiedFactors {
  methods: Array<'payment_password' | 'fingerprint' | 'certificate'>;
  /** Set when a payment certificate signed the payment: the daily limit its holder agreed. */
  certificateDailyLimitFen: bigint | null;
}

export class PaymentVerifier {
  readonly #paymentAccounts: PaymentAccountService;
  readonly #devices: DeviceService;
  readonly #certificates: PaymentCertificates;

  constructor(paymentAccounts: PaymentAccountService, devices: DeviceService, certificates: PaymentCertificates) {
    this.#paymentAccounts = paymentAccounts;
    this.#devices = devices;
    this.#certificates = certificates;
  }

  /**
   * Checks every factor given except the SMS code. A fingerprint statement or a certificate
   * signature must be bound to `payment`; each spends its nonce, so it verifies one payment once.
   */
  async check(userId: string, verification: Verification,
    payment: PaymentBinding | undefined): Promise<VerifiedFactors> {
    const { paymentPassword, fingerprint, certificate, smsCode } = verification;
    if (paymentPassword === undefined && !fingerprint && !certificate) {
      throw errors.parameter_invalid('Verify the payment with the payment password or a fingerprint.',
        'payment_password');
    }
    if (certificate && paymentPassword === undefined && !fingerprint && smsCode === undefined) {
      throw errors.parameter_invalid('A payment signed with a certificate needs one more factor: the payment password, a fingerprint or an SMS code.', 'payment_password');
    }
    if ((fingerprint || certificate) && !payment) {
      throw errors.parameter_invalid('This operation is verified with the payment password.',
        fingerprint ? 'fingerprint' : 'certificate');
    }
    const methods: VerifiedFactors['methods'] = [];
    let certificateDailyLimitFen: bigint | null = null;
    if (paymentPassword !== undefined) {
      await this.#paymentAccounts.verifyPaymentPassword(userId, paymentPassword);
      methods.push('payment_password');
    }
    if (fingerprint) {
      await this.#devices.verifyPaymentStatement(userId, fingerprint, payment!);
      methods.push('fingerprint');
    }
    if (certificate) {
      const row = await this.#certificates.verifyPaymentSignature(userId, certificate, payment!);
      certificateDailyLimitFen = row.daily_limit_fen;
      methods.push('certificate');
    }
    return { methods, certificateDailyLimitFen };
  }
}
