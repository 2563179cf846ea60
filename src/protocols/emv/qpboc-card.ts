// A UnionPay QuickPass (qPBOC online) card application: what answers a contactless reader's
// APDUs — SELECT PPSE, SELECT AID, GET PROCESSING OPTIONS with its PDOL, READ RECORD and
// GENERATE AC (EMV 4.4 Book 3, 6.5; Book B for PPSE; qPBOC for TTQ 9F66 and CTQ 9F6C).
//
// Two cards run it: the bank's plastic card (src/terminal/card-emulator, one MK-AC, session key
// derived per ATC) and the phone's payment applet (src/phone, a limited-use key per ATC handed
// out by the token service). They differ only in where the next ATC and its session key come
// from and in the CTQ, which `QpbocCardSource` supplies.
import { decodeCommandApdu, encodeResponseApdu, PPSE_NAME, SW, type CommandApdu } from '../apdu.ts';
import { buildRecommendedCryptogramData, generateApplicationCryptogram, type CryptogramAlgorithm } from '../crypto/index.ts';
import { encodeDol, parseDol, splitDolData, type DolEntry } from '../dol.ts';
import { decodeTlv, encodeTlv, findTlvValue, tlv } from '../tlv.ts';

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

/** The card's personalised data, as records 1 and 2 carry it. */
export interface QpbocCardProfile {
  /** The number the reader sees: the PAN on a plastic card, the token on a phone. */
  pan: string;
  expiryYymm: string;
  /** Two digits. */
  panSequence: string;
  aid: Buffer;
  /** Cryptogram version number in 9F10 (01 3DES, 04 SM4). */
  cryptogramVersion: number;
  algorithm: CryptogramAlgorithm;
}

/** Where the card's transaction counter and keys come from, and what it says about the cardholder. */
export interface QpbocCardSource {
  /**
   * Called at GET PROCESSING OPTIONS with the terminal's transaction type (9C from the PDOL data,
   * two hex digits: '00' goods and services, '20' refund): the ATC of this transaction and its AC
   * session key, taken for good (an ATC is never used twice), or a status word refusing the
   * transaction (no ATC or key left, payment not armed, …).
   */
  beginTransaction(transaction: { type: string }): { atc: number; sessionKey: Buffer } | { refuse: number };
  /** CTQ (9F6C) for the terminal's TTQ (9F66). */
  cardTransactionQualifiers(ttq: Buffer): Buffer;
  /** Called after GENERATE AC: the session key is spent and may be wiped. */
  endTransaction?(atc: number): void;
}

const respond = (data: Buffer, sw: number = SW.OK) => encodeResponseApdu({ data, sw });
const status = (sw: number) => encodeResponseApdu({ data: Buffer.alloc(0), sw });

function atcBytes(atc: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(atc);
  return bytes;
}

/** One qPBOC application: a state machine over command APDUs (pure; the source holds the secrets). */
export class QpbocCardApplication {
  readonly #profile: QpbocCardProfile;
  readonly #source: QpbocCardSource;
  #selected: 'none' | 'ppse' | 'application' = 'none';
  #processing: { atc: number; sessionKey: Buffer } | undefined;

  constructor(profile: QpbocCardProfile, source: QpbocCardSource) {
    this.#profile = profile;
    this.#source = source;
  }

  /** One command APDU in, one response APDU out; malformed commands get a status word, never an exception. */
  process(command: Buffer): Buffer {
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

  /** Leaves the reader's field: an unfinished transaction is abandoned (its ATC stays used). */
  reset(): void {
    this.#finish();
    this.#selected = 'none';
  }

  #dispatch(apdu: CommandApdu): Buffer {
    if (apdu.cla === 0x00 && apdu.ins === 0xa4 && apdu.p1 === 0x04) return this.#select(apdu.data);
    if (apdu.cla === 0x80 && apdu.ins === 0xa8) return this.#getProcessingOptions(apdu.data);
    if (apdu.cla === 0x00 && apdu.ins === 0xb2) return this.#readRecord(apdu.p1, apdu.p2 >> 3);
    if (apdu.cla === 0x80 && apdu.ins === 0xae) return this.#generateAc(apdu.p1, apdu.data);
    return status(SW.INS_NOT_SUPPORTED);
  }

  #label(): Buffer {
    return Buffer.from(this.#profile.aid.equals(UNIONPAY_DEBIT_AID) ? 'UnionPay Debit' : 'UnionPay Credit', 'ascii');
  }

  #select(name: Buffer): Buffer {
    this.#finish();
    const aid = this.#profile.aid;
    if (name.equals(PPSE_NAME)) {
      this.#selected = 'ppse';
      const entry = tlv('61', [tlv('4F', aid), tlv('50', this.#label()), tlv('87', Buffer.from([1]))]);
      return respond(encodeTlv(tlv('6F', [tlv('84', PPSE_NAME), tlv('A5', [tlv('BF0C', [entry])])])));
    }
    if (name.equals(aid)) {
      this.#selected = 'application';
      return respond(encodeTlv(tlv('6F', [
        tlv('84', aid),
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
    this.#finish();
    const begun = this.#source.beginTransaction({ type: values.get('9C')!.toString('hex') });
    if ('refuse' in begun) return status(begun.refuse);
    this.#processing = begun;
    return respond(encodeTlv(tlv('77', [
      tlv('82', AIP), tlv('94', AFL), tlv('9F36', atcBytes(begun.atc)), tlv('9F6C', this.#source.cardTransactionQualifiers(values.get('9F66')!)),
    ])));
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
    const processing = this.#processing;
    if (!processing) return status(SW.CONDITIONS_NOT_SATISFIED);
    const values = splitDolData(CARD_CDOL1, cdolData);
    const wantsAac = (p1 & 0xc0) === 0x00;
    const cid = wantsAac ? 0x00 : 0x80;
    // CVR: length 03, "ARQC returned in GENERATE AC" (or AAC), no offline checks performed.
    const cvr = Buffer.from([0x03, wantsAac ? 0x00 : 0xa0, 0x00, 0x00]);
    const iad = Buffer.concat([Buffer.from([0x07, 0x01, this.#profile.cryptogramVersion]), cvr]);
    const atc = atcBytes(processing.atc);
    const data = buildRecommendedCryptogramData({
      amountAuthorised: values.get('9F02')!, amountOther: values.get('9F03')!, terminalCountryCode: values.get('9F1A')!,
      terminalVerificationResults: values.get('95')!, transactionCurrencyCode: values.get('5F2A')!, transactionDate: values.get('9A')!,
      transactionType: values.get('9C')!, unpredictableNumber: values.get('9F37')!, applicationInterchangeProfile: AIP,
      applicationTransactionCounter: atc, issuerApplicationDataPart: cvr,
    });
    const cryptogram = generateApplicationCryptogram(this.#profile.algorithm, processing.sessionKey, data);
    // One cryptogram per GPO: the next one needs a new transaction (and ATC).
    this.#finish();
    return respond(encodeTlv(tlv('77', [
      tlv('9F27', Buffer.from([cid])), tlv('9F36', atc), tlv('9F26', cryptogram), tlv('9F10', iad),
    ])));
  }

  #finish(): void {
    const processing = this.#processing;
    if (!processing) return;
    this.#processing = undefined;
    this.#source.endTransaction?.(processing.atc);
  }
}
