/**
 * Test support: a device card as the phone's payment applet presents it at a POS, without the
 * phone. It runs the qPBOC card application (src/protocols/emv/qpboc-card.ts) with the token
 * number, and a source that hands out the limited-use keys from the provisioning (or
 * replenishment) answer, one per ATC, lowest first, each used once; and it sets CTQ byte 2
 * bit 8 (consumer device CVM performed), as the applet does after the fingerprint check. The
 * phone (src/phone) will replace this in the tests that use it.
 */
import { SW } from '../../protocols/apdu.ts';
import type { CryptogramAlgorithm } from '../../protocols/crypto/index.ts';
import { QpbocCardApplication, UNIONPAY_CREDIT_AID, UNIONPAY_DEBIT_AID } from '../../protocols/emv/qpboc-card.ts';
import type { ContactlessCard } from '../../terminal/client.ts';

/** The provisioning answer (`POST /v1/device-cards`, 201) as the phone receives it. */
export interface ProvisionedDeviceCard {
  device_card: { card_kind: string };
  token_number: string;
  token_expiry: string;
  token_sequence: string;
  luk_batch: LukBatchAnswer;
}

/**
 * A limited-use key batch as the phone holds it once opened: the platform sends the keys sealed
 * to the device (`sealed_keys`); test-system's `provisionDeviceCard` / `replenishKeys` open them
 * with the device's private key and add them here as `keys`.
 */
export interface LukBatchAnswer {
  algorithm: string;
  keys: { atc: number; key: string }[];
}

const cryptogramVersionOf: Record<string, number> = { tdes: 0x01, sm4: 0x04 };

export class TestDeviceCard implements ContactlessCard {
  readonly #application: QpbocCardApplication;
  /** Unspent keys by ATC. */
  readonly #keys = new Map<number, Buffer>();
  #lastAtc: number | undefined;

  constructor(provisioned: ProvisionedDeviceCard) {
    const algorithm = provisioned.luk_batch.algorithm as CryptogramAlgorithm;
    this.addKeys(provisioned.luk_batch);
    this.#application = new QpbocCardApplication({
      pan: provisioned.token_number, expiryYymm: provisioned.token_expiry, panSequence: provisioned.token_sequence,
      aid: provisioned.device_card.card_kind === 'credit' ? UNIONPAY_CREDIT_AID : UNIONPAY_DEBIT_AID,
      cryptogramVersion: cryptogramVersionOf[algorithm]!, algorithm,
    }, {
      beginTransaction: () => {
        const atc = Math.min(...this.#keys.keys());
        const sessionKey = this.#keys.get(atc);
        if (!sessionKey) return { refuse: SW.CONDITIONS_NOT_SATISFIED };
        this.#keys.delete(atc);
        this.#lastAtc = atc;
        return { atc, sessionKey };
      },
      // Byte 1: no online PIN; byte 2 bit 8: the cardholder was verified on the device (fingerprint).
      cardTransactionQualifiers: () => Buffer.from([0x00, 0x80]),
    });
  }

  /** A replenished batch, or (tests) a key for an ATC the platform never issued to this phone. */
  addKeys(batch: { keys: { atc: number; key: string }[] }): void {
    for (const { atc, key } of batch.keys) this.#keys.set(atc, Buffer.from(key, 'hex'));
  }

  /** The ATC of the last tap. */
  get lastAtc(): number | undefined {
    return this.#lastAtc;
  }

  get keysLeft(): number {
    return this.#keys.size;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    return this.#application.process(command);
  }
}
