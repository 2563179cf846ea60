// The POS's contactless kernel for UnionPay QuickPass (qPBOC online): SELECT PPSE → SELECT AID
// → GET PROCESSING OPTIONS with the PDOL data → READ RECORD over the AFL → GENERATE AC (ARQC)
// with the CDOL1 data (EMV 4.4 Book 3, 6.5 and 10; Book B for PPSE; qPBOC for TTQ / CTQ).
// It turns the card's answers into ISO 8583 field 55 and the CVM decision.
import { randomBytes } from 'node:crypto';
import {
  decodeResponseApdu, describeStatusWord, encodeCommandApdu, generateAc, getProcessingOptions, readRecord, selectByName, selectPpse, SW,
  type CommandApdu,
} from '../../protocols/apdu.ts';
import { buildDolData, parseDol } from '../../protocols/dol.ts';
import { amountToBcd, digitsToBcd } from '../../protocols/hex.ts';
import { decodeTlv, encodeTlv, flattenTlv, tlv, type TlvNode } from '../../protocols/tlv.ts';
import type { ContactlessCard } from '../../protocols/contactless.ts';

/** UnionPay's registered application provider identifier: every QuickPass AID starts with it. */
const UNIONPAY_RID = 'A000000333';
/** QuickPass no-PIN limit (¥1,000): above it the cardholder is verified by online PIN or CDCVM. */
export const NO_CVM_LIMIT_FEN = 100_000n;
const RECORDS_MAX = 16;
const CNY = '0156';

export type CardReadErrorCode = 'no_application' | 'card_refused' | 'bad_card_data';

/** The card could not be read; nothing was sent to the network. */
export class CardReadError extends Error {
  override readonly name = 'CardReadError';
  readonly code: CardReadErrorCode;

  constructor(code: CardReadErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface KernelTransaction {
  amountFen: bigint;
  /** 9C: 00 purchase, 20 refund. */
  type: 'purchase' | 'refund';
  now: Date;
  terminalId: string;
}

export interface CardRead {
  pan: string;
  panSequence: string;
  expiryYymm: string;
  aid: string;
  label: string;
  atc: number;
  /** ISO 8583 field 55. */
  iccData: Buffer;
  /** The cardholder verification the terminal must perform. */
  cvm: 'online_pin' | 'cdcvm' | 'none';
}

async function exchange(card: ContactlessCard, command: CommandApdu, what: string): Promise<Map<string, Buffer>> {
  const response = decodeResponseApdu(await card.transmit(encodeCommandApdu(command)));
  if (response.sw !== SW.OK) throw new CardReadError('card_refused', `${what}: ${describeStatusWord(response.sw)}`);
  try {
    return flattenTlv(decodeTlv(response.data));
  } catch {
    throw new CardReadError('bad_card_data', `${what}: the card's answer is not valid BER-TLV`);
  }
}

/** Terminal Transaction Qualifiers (9F66): qPBOC, online PIN supported, online cryptogram required, CVM required above the limit. */
export function terminalTransactionQualifiers(amountFen: bigint): Buffer {
  return Buffer.from([0x24, 0x80 | (amountFen > NO_CVM_LIMIT_FEN ? 0x40 : 0x00), 0x00, 0x80]);
}

function yymmdd(now: Date): string {
  return `${String(now.getUTCFullYear() % 100).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}`;
}

/** Reads a contactless card for one transaction and asks it for an ARQC. */
export async function readContactlessCard(card: ContactlessCard, transaction: KernelTransaction): Promise<CardRead> {
  const ppse = await exchange(card, selectPpse(), 'SELECT PPSE');
  const aidHex = ppse.get('4F')?.toString('hex').toUpperCase();
  if (!aidHex || !aidHex.startsWith(UNIONPAY_RID)) throw new CardReadError('no_application', 'the card has no UnionPay application');
  const fci = await exchange(card, selectByName(Buffer.from(aidHex, 'hex')), 'SELECT AID');

  const terminalData = new Map<string, Buffer>([
    ['9F66', terminalTransactionQualifiers(transaction.amountFen)],
    ['9F02', amountToBcd(transaction.amountFen)],
    ['9F03', amountToBcd(0n)],
    ['9F1A', Buffer.from(CNY, 'hex')],
    ['95', Buffer.alloc(5)],
    ['5F2A', Buffer.from(CNY, 'hex')],
    ['9A', digitsToBcd(yymmdd(transaction.now), 3)],
    ['9C', Buffer.from([transaction.type === 'refund' ? 0x20 : 0x00])],
    ['9F37', randomBytes(4)],
    ['9F35', Buffer.from([0x22])],
    ['9F33', Buffer.from('E0E1C8', 'hex')],
    ['9F1C', Buffer.from(transaction.terminalId.padEnd(8).slice(0, 8), 'ascii')],
  ]);
  let pdol;
  try {
    pdol = parseDol(fci.get('9F38') ?? Buffer.alloc(0));
  } catch {
    throw new CardReadError('bad_card_data', 'the card\'s PDOL is malformed');
  }
  const gpo = await exchange(card, getProcessingOptions(buildDolData(pdol, terminalData)), 'GET PROCESSING OPTIONS');
  const aip = gpo.get('82');
  const afl = gpo.get('94');
  if (!aip || aip.length !== 2 || !afl || afl.length % 4 !== 0) throw new CardReadError('bad_card_data', 'GPO answer lacks AIP or AFL');

  const records = new Map<string, Buffer>();
  let recordsRead = 0;
  for (let i = 0; i < afl.length; i += 4) {
    const sfi = afl[i]! >> 3;
    for (let record = afl[i + 1]!; record <= afl[i + 2]!; record += 1) {
      if (++recordsRead > RECORDS_MAX || sfi < 1 || sfi > 30 || record < 1) throw new CardReadError('bad_card_data', 'the AFL names too many or invalid records');
      for (const [tag, value] of await exchange(card, readRecord(sfi, record), 'READ RECORD')) if (!records.has(tag)) records.set(tag, value);
    }
  }
  const panHex = records.get('5A')?.toString('hex').toUpperCase().replace(/F+$/, '');
  const expiry = records.get('5F24')?.toString('hex');
  if (!panHex || !/^[0-9]{13,19}$/.test(panHex) || !expiry || !/^[0-9]{6}$/.test(expiry)) throw new CardReadError('bad_card_data', 'the card records lack a valid PAN or expiry');
  let cdol1;
  try {
    cdol1 = parseDol(records.get('8C') ?? Buffer.alloc(0));
  } catch {
    throw new CardReadError('bad_card_data', 'the card\'s CDOL1 is malformed');
  }
  const ac = await exchange(card, generateAc('ARQC', buildDolData(cdol1, terminalData)), 'GENERATE AC');
  const cid = ac.get('9F27');
  const atc = ac.get('9F36');
  const cryptogram = ac.get('9F26');
  const iad = ac.get('9F10');
  if (!cid || !atc || atc.length !== 2 || !cryptogram || !iad) throw new CardReadError('bad_card_data', 'GENERATE AC answer incomplete');
  if ((cid[0]! & 0xc0) !== 0x80) throw new CardReadError('card_refused', 'the card declined (AAC) instead of going online');

  const ctq = gpo.get('9F6C') ?? Buffer.alloc(2);
  const cdcvm = (ctq[1]! & 0x80) !== 0;
  const cardWantsPin = (ctq[0]! & 0x80) !== 0;
  const cvm = cdcvm ? 'cdcvm' : cardWantsPin || transaction.amountFen > NO_CVM_LIMIT_FEN ? 'online_pin' : 'none';

  const iccNodes: TlvNode[] = [
    tlv('9F26', cryptogram), tlv('9F27', cid), tlv('9F10', iad), tlv('9F37', terminalData.get('9F37')!), tlv('9F36', atc),
    tlv('95', terminalData.get('95')!), tlv('9A', terminalData.get('9A')!), tlv('9C', terminalData.get('9C')!),
    tlv('9F02', terminalData.get('9F02')!), tlv('5F2A', terminalData.get('5F2A')!), tlv('82', aip), tlv('9F1A', terminalData.get('9F1A')!),
    tlv('9F03', terminalData.get('9F03')!), tlv('9F33', terminalData.get('9F33')!), tlv('9F35', terminalData.get('9F35')!),
    tlv('84', Buffer.from(aidHex, 'hex')), tlv('9F66', terminalData.get('9F66')!),
    tlv('9F34', Buffer.from(cvm === 'online_pin' ? '420300' : cvm === 'cdcvm' ? '010002' : '1F0002', 'hex')),
  ];
  return {
    pan: panHex, panSequence: records.get('5F34')?.toString('hex').padStart(2, '0').slice(-2) ?? '00', expiryYymm: expiry.slice(0, 4),
    aid: aidHex, label: fci.get('50')?.toString('latin1') ?? 'UnionPay', atc: atc.readUInt16BE(0), iccData: encodeTlv(iccNodes), cvm,
  };
}
