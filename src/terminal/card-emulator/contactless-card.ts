// A physical UnionPay QuickPass (qPBOC) card, emulated: the card a bank personalised, with
// its MK-AC, answering a contactless reader's APDUs — SELECT PPSE, SELECT AID, GET PROCESSING
// OPTIONS with its PDOL, READ RECORD and GENERATE AC (EMV 4.4 Book 3, 6.5; Book C-7/qPBOC
// for TTQ 9F66 and CTQ 9F6C). It lets the payment path be tested before device cards exist;
// the phone's payment applet answers the same commands with token keys.
import type { CardPersonalization } from '../../bank/client.ts';
import { decodeCommandApdu, encodeResponseApdu, PPSE_NAME, SW, type CommandApdu } from '../../protocols/apdu.ts';
import {
  buildRecommendedCryptogramData,
  deriveCommonSessionKey,
  generateApplicationCryptogram,
} from '../../protocols/crypto/index.ts';
import { encodeDol, parseDol, splitDolData, type DolEntry } from '../../protocols/dol.ts';
import { decodeTlv, encodeTlv, findTlvValue, tlv } from '../../protocols/tlv.ts';
import type { ContactlessCard } from '../client.ts';

export const UNIONPAY_DEBIT_AID = Buffer.from('A000000333010101', 'hex');
export const UNIONPAY_CREDIT_AID = Buffer.from('A000000333010102', 'hex');

/** What the card asks the terminal for at GPO: TTQ, amounts, country, TVR, currency, date, type, UN. */
export const CARD_PDOL: readonly DolEntry[] = [
  { tag: '9F66', length: 4 }, { tag: '9F02', length: 6 }, { tag: '9F03', length: 6 }, { tag: '9F1A', length: 2 },
  { tag: '95', length: 5 }, { tag: '5F2A', length: 2 }, { tag: '9A', length: 3 }, { tag: '9C', length: 1 }, { tag: '9F37', length: 4 },
];
/** CDOL1: the terminal-side part of the EMV Book 2 8.1.1 recommended cryptogram data. */
export const CARD_CDOL1: readonly DolEntry[] = [
  { tag: '9F02', length: 6 }, { tag: '9F03', length: 6 }, { tag: '9F1A', length: 2 }, { tag: '95', length: 5 },
  { tag: '5F2A', length: 2 }, { tag: '9A', length: 3 }, { tag: '9C', length: 1 }, { tag: '9F37', length: 4 },
];
/** AIP: cardholder verification and issuer authentication supported (EMV Book 3, C1). */
const AIP = Buffer.from('7C00', 'hex');
/** AFL: SFI 1, records 1 to 2, none used for offline data authentication. */
const AFL = Buffer.from('08010200', 'hex');
const ATC_MAX = 0xffff;

const respond = (data: Buffer, sw: number = SW.OK) => encodeResponseApdu({ data, sw });
const status = (sw: number) => encodeResponseApdu({ data: Buffer.alloc(0), sw });

/** One emulated card. Keeps its ATC in memory; `atc` can be saved and given back at construction. */
export class ContactlessCardEmulator implements ContactlessCard {
  readonly #profile: CardPersonalization;
  readonly #aid: Buffer;
  readonly #cardMasterKey: Buffer;
  #atc: number;
  #selected: 'none' | 'ppse' | 'application' = 'none';
  #processing: { values: Map<string, Buffer> } | undefined;

  constructor(profile: CardPersonalization, options: { aid?: Buffer } = {}) {
    this.#profile = profile;
    this.#aid = options.aid ?? (profile.pan.length === 19 ? UNIONPAY_DEBIT_AID : UNIONPAY_CREDIT_AID);
    this.#cardMasterKey = Buffer.from(profile.cardMasterKeyAcHex, 'hex');
    this.#atc = profile.atc;
  }

  /** The Application Transaction Counter after the last GPO. */
  get atc(): number {
    return this.#atc;
  }

  async transmit(command: Buffer): Promise<Buffer> {
    let apdu: CommandApdu;
    try {
      apdu = decodeCommandApdu(command);
    } catch {
      return status(SW.WRONG_LENGTH);
    }
    try {
      return this.#dispatch(apdu);
    } catch {
      // A malformed data field from the reader: the card answers with a status word, never crashes.
      return status(SW.WRONG_DATA);
    }
  }

  #dispatch(apdu: CommandApdu): Buffer {
    if (apdu.cla === 0x00 && apdu.ins === 0xa4 && apdu.p1 === 0x04) return this.#select(apdu.data);
    if (apdu.cla === 0x80 && apdu.ins === 0xa8) return this.#getProcessingOptions(apdu.data);
    if (apdu.cla === 0x00 && apdu.ins === 0xb2) return this.#readRecord(apdu.p1, apdu.p2 >> 3);
    if (apdu.cla === 0x80 && apdu.ins === 0xae) return this.#generateAc(apdu.p1, apdu.data);
    return status(SW.INS_NOT_SUPPORTED);
  }

  #label(): Buffer {
    return Buffer.from(this.#aid.equals(UNIONPAY_DEBIT_AID) ? 'UnionPay Debit' : 'UnionPay Credit', 'ascii');
  }

  #select(name: Buffer): Buffer {
    this.#processing = undefined;
    if (name.equals(PPSE_NAME)) {
      this.#selected = 'ppse';
      const entry = tlv('61', [tlv('4F', this.#aid), tlv('50', this.#label()), tlv('87', Buffer.from([1]))]);
      return respond(encodeTlv(tlv('6F', [tlv('84', PPSE_NAME), tlv('A5', [tlv('BF0C', [entry])])])));
    }
    if (name.equals(this.#aid)) {
      this.#selected = 'application';
      return respond(encodeTlv(tlv('6F', [
        tlv('84', this.#aid),
        tlv('A5', [tlv('50', this.#label()), tlv('87', Buffer.from([1])), tlv('9F38', encodeDol(CARD_PDOL)), tlv('5F2D', Buffer.from('zhen', 'ascii'))]),
      ])));
    }
    this.#selected = 'none';
    return status(SW.FILE_NOT_FOUND);
  }

  #getProcessingOptions(data: Buffer): Buffer {
    if (this.#selected !== 'application') return status(SW.CONDITIONS_NOT_SATISFIED);
    const pdolData = findTlvValue(decodeTlv(data), '83');
    if (!pdolData) return status(SW.WRONG_DATA);
    const values = splitDolData(parseDol(encodeDol(CARD_PDOL)), pdolData);
    if (this.#atc >= ATC_MAX) return status(SW.SELECTED_FILE_INVALIDATED);
    this.#atc += 1;
    this.#processing = { values };
    return respond(encodeTlv(tlv('77', [
      tlv('82', AIP), tlv('94', AFL), tlv('9F36', this.#atcBytes()), tlv('9F6C', this.#cardTransactionQualifiers(values.get('9F66')!)),
    ])));
  }

  /**
   * CTQ byte 1 bit 8 "online PIN required": when the card always wants it, or when the
   * terminal says a CVM is required (TTQ byte 2 bit 7) and can take an online PIN (TTQ byte 1
   * bit 3). A plastic card has no consumer-device CVM, so byte 2 bit 8 stays 0.
   */
  #cardTransactionQualifiers(ttq: Buffer): Buffer {
    const terminalWantsCvm = (ttq[1]! & 0x40) !== 0 && (ttq[0]! & 0x04) !== 0;
    return Buffer.from([this.#profile.onlinePinAlways || terminalWantsCvm ? 0x80 : 0x00, 0x00]);
  }

  #readRecord(record: number, sfi: number): Buffer {
    if (!this.#processing || sfi !== 1) return status(SW.RECORD_NOT_FOUND);
    const p = this.#profile;
    if (record === 1) {
      // Track 2 equivalent (57): PAN, separator D, expiry, service code 201, discretionary data, F-padded.
      const digits = `${p.pan}D${p.expiryYymm}2010000000000`;
      const track2 = Buffer.from(digits.length % 2 === 0 ? digits : `${digits}F`, 'hex');
      return respond(encodeTlv(tlv('70', [tlv('57', track2), tlv('9F08', Buffer.from('0030', 'hex'))])));
    }
    if (record === 2) {
      const panDigits = p.pan.length % 2 === 0 ? p.pan : `${p.pan}F`;
      return respond(encodeTlv(tlv('70', [
        tlv('5A', Buffer.from(panDigits, 'hex')), tlv('5F24', Buffer.from(`${p.expiryYymm}31`, 'hex')),
        tlv('5F34', Buffer.from(p.panSequence, 'hex')), tlv('8C', encodeDol(CARD_CDOL1)), tlv('5F28', Buffer.from('0156', 'hex')),
      ])));
    }
    return status(SW.RECORD_NOT_FOUND);
  }

  /**
   * GENERATE AC (EMV Book 3, 6.5.5): an online-only card answers an ARQC to a TC or ARQC
   * request and an AAC to an AAC request, over the EMV Book 2 8.1.1 data set.
   */
  #generateAc(p1: number, cdolData: Buffer): Buffer {
    if (!this.#processing) return status(SW.CONDITIONS_NOT_SATISFIED);
    const values = splitDolData(CARD_CDOL1, cdolData);
    const wantsAac = (p1 & 0xc0) === 0x00;
    const cid = wantsAac ? 0x00 : 0x80;
    // CVR: length 03, "ARQC returned in GENERATE AC" (or AAC), no offline checks performed.
    const cvr = Buffer.from([0x03, wantsAac ? 0x00 : 0xa0, 0x00, 0x00]);
    const iad = Buffer.concat([Buffer.from([0x07, 0x01, this.#profile.cryptogramVersion]), cvr]);
    const atc = this.#atcBytes();
    const data = buildRecommendedCryptogramData({
      amountAuthorised: values.get('9F02')!, amountOther: values.get('9F03')!, terminalCountryCode: values.get('9F1A')!,
      terminalVerificationResults: values.get('95')!, transactionCurrencyCode: values.get('5F2A')!, transactionDate: values.get('9A')!,
      transactionType: values.get('9C')!, unpredictableNumber: values.get('9F37')!, applicationInterchangeProfile: AIP,
      applicationTransactionCounter: atc, issuerApplicationDataPart: cvr,
    });
    const sessionKey = deriveCommonSessionKey(this.#profile.acAlgorithm, this.#cardMasterKey, atc);
    const cryptogram = generateApplicationCryptogram(this.#profile.acAlgorithm, sessionKey, data);
    // One cryptogram per GPO: the next one needs a new transaction (and ATC).
    this.#processing = undefined;
    return respond(encodeTlv(tlv('77', [
      tlv('9F27', Buffer.from([cid])), tlv('9F36', atc), tlv('9F26', cryptogram), tlv('9F10', iad),
    ])));
  }

  #atcBytes(): Buffer {
    const atc = Buffer.alloc(2);
    atc.writeUInt16BE(this.#atc);
    return atc;
  }
}
