import { createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import type { x509 as X509 } from '../../infra/x509.ts';

type X509Module = typeof X509;

/** The X.509 library is loaded when the CA is first used, so starting the platform does not wait for it. */
async function loadX509(): Promise<X509Module> {
  return (await import('../../infra/x509.ts')).x509;
}

/** ECDSA P-256 with SHA-256: the CA's and the holders' keys and signatures. */
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const caLifetimeMs = 10 * 365 * 86_400_000;

export interface IssuedCertificate {
  serialNumber: string;
  subject: string;
  pem: string;
  /** The holder's public key, SPKI DER base64 (what payment signatures are checked with). */
  publicKeySpki: string;
  notBefore: Date;
  notAfter: Date;
}

/** Checked when the platform starts, before the CA is first used: a wrong key is a configuration error. */
export function assertPaymentCaKey(caKey: KeyObject): void {
  if (caKey.type !== 'private' || caKey.asymmetricKeyType !== 'ec' || caKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the payment CA key must be an ECDSA P-256 private key');
  }
}

/**
 * The platform's own certificate authority for payment certificates. Its private key comes from
 * the composition root (`caKey`): it is never written to the database. The CA certificate is
 * self-signed from that key when the CA is first used; what identifies the CA is its key.
 */
export class PaymentCertificateAuthority {
  readonly certificate: X509.X509Certificate;
  readonly #signingKey: CryptoKey;
  readonly #x509: X509Module;

  private constructor(certificate: X509.X509Certificate, signingKey: CryptoKey, x509: X509Module) {
    this.certificate = certificate;
    this.#signingKey = signingKey;
    this.#x509 = x509;
  }

  static async create(caKey: KeyObject, now: Date): Promise<PaymentCertificateAuthority> {
    assertPaymentCaKey(caKey);
    const x509 = await loadX509();
    const privateKey = await webcrypto.subtle.importKey('pkcs8', caKey.export({ format: 'der', type: 'pkcs8' }), ecdsa,
      false, ['sign']);
    const spki = createPublicKey(caKey).export({ format: 'der', type: 'spki' });
    const publicKey = await webcrypto.subtle.importKey('spki', spki, ecdsa, true, ['verify']);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01', name: 'CN=Mi Pay Open payment CA, O=Mi Pay Open', notBefore: now, notAfter: new Date(now.getTime() + caLifetimeMs),
      keys: { privateKey, publicKey }, signingAlgorithm: ecdsa,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    return new PaymentCertificateAuthority(certificate, privateKey, x509);
  }

  /**
   * Parses a PKCS #10 request (PEM or base64 DER) and checks its self-signature and key; answers
   * the problem when it is not acceptable.
   */
  async readRequest(csr: string): Promise<{ request: X509.Pkcs10CertificateRequest } | { problem: string }> {
    const x509 = this.#x509;
    let request: X509.Pkcs10CertificateRequest;
    try {
      request = new x509.Pkcs10CertificateRequest(csr.includes('-----BEGIN') ? csr : Buffer.from(csr.replace(/\s+/g,
        ''), 'base64'));
    } catch {
      return { problem: 'not a PKCS #10 certificate request (PEM or base64 DER)' };
    }
    const key = createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return { problem: 'the key is not ECDSA P-256' };
    if (!(await request.verify())) return { problem: 'the request\'s self-signature does not verify' };
    return { request };
  }

  /** Issues an end-entity certificate for digital signatures to the key of `request`. */
  async issue(request: X509.Pkcs10CertificateRequest, subject: string, notBefore: Date,
    notAfter: Date): Promise<IssuedCertificate> {
    const x509 = this.#x509;
    // A positive 16-byte serial (RFC 5280 4.1.2.2): the top bit cleared.
    const serial = randomBytes(16);
    serial[0] = serial[0]! & 0x7f;
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'), subject, issuer: this.certificate.subject, notBefore, notAfter,
      signingKey: this.#signingKey, publicKey: request.publicKey, signingAlgorithm: ecdsa,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true)],
    });
    return {
      serialNumber: certificate.serialNumber, subject, pem: certificate.toString('pem'),
      publicKeySpki: Buffer.from(request.publicKey.rawData).toString('base64'), notBefore, notAfter,
    };
  }

  /** Whether this CA's key signed the certificate (a stored certificate is checked again before each use). */
  async issued(pem: string): Promise<boolean> {
    const certificate = new this.#x509.X509Certificate(pem);
    return certificate.verify({ publicKey: this.certificate.publicKey, signatureOnly: true });
  }
}
