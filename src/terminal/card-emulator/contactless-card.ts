// A physical UnionPay QuickPass (qPBOC) card, emulated: the card a bank personalised, with
// its MK-AC, answering a contactless reader's APDUs through the qPBOC application of
// src/protocols/emv/qpboc-card.ts. It lets the payment path be tested without a phone; the
// phone's payment applet runs the same application with limited-use keys from the token service.
import type { CardPersonalization } from '../../bank/client.ts';
import { SW } from '../../protocols/apdu.ts';
import { deriveCommonSessionKey } from '../../protocols/crypto/index.ts';
import { CARD_CDOL1, CARD_PDOL, QpbocCardApplication, UNIONPAY_CREDIT_AID, UNIONPAY_DEBIT_AID } from '../../protocols/emv/qpboc-card.ts';
import type { ContactlessCard } from '../../protocols/contactless.ts';

export { CARD_CDOL1, CARD_PDOL, UNIONPAY_CREDIT_AID, UNIONPAY_DEBIT_AID };

const ATC_MAX = 0xffff;

/** One emulated card. Keeps its ATC in memory; `atc` can be saved and given back at construction. */
export class ContactlessCardEmulator implements ContactlessCard {
  readonly #application: QpbocCardApplication;
  #atc: number;

  constructor(profile: CardPersonalization, options: { aid?: Buffer } = {}) {
    const cardMasterKey = Buffer.from(profile.cardMasterKeyAcHex, 'hex');
    this.#atc = profile.atc;
    this.#application = new QpbocCardApplication({
      pan: profile.pan, expiryYymm: profile.expiryYymm, panSequence: profile.panSequence,
      aid: options.aid ?? (profile.pan.length === 19 ? UNIONPAY_DEBIT_AID : UNIONPAY_CREDIT_AID),
      cryptogramVersion: profile.cryptogramVersion, algorithm: profile.acAlgorithm,
    }, {
      beginTransaction: () => {
        if (this.#atc >= ATC_MAX) return { refuse: SW.SELECTED_FILE_INVALIDATED };
        this.#atc += 1;
        const atc = Buffer.alloc(2);
        atc.writeUInt16BE(this.#atc);
        return { atc: this.#atc, sessionKey: deriveCommonSessionKey(profile.acAlgorithm, cardMasterKey, atc) };
      },
      cardTransactionQualifiers: (ttq) => cardTransactionQualifiers(profile.onlinePinAlways, ttq),
    });
  }

  /** The Application Transaction Counter after the last GPO. */
  get atc(): number {
    return this.#atc;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    return this.#application.process(command);
  }
}

/**
 * CTQ byte 1 bit 8 "online PIN required": when the card always wants it, or when the terminal
 * says a CVM is required (TTQ byte 2 bit 7) and can take an online PIN (TTQ byte 1 bit 3). A
 * plastic card has no consumer-device CVM, so byte 2 bit 8 stays 0.
 */
function cardTransactionQualifiers(onlinePinAlways: boolean, ttq: Buffer): Buffer {
  const terminalWantsCvm = (ttq[1]! & 0x40) !== 0 && (ttq[0]! & 0x04) !== 0;
  return Buffer.from([onlinePinAlways || terminalWantsCvm ? 0x80 : 0x00, 0x00]);
}
