import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CardPersonalization } from '../../bank/client.ts';
import { decodeResponseApdu, encodeCommandApdu, getProcessingOptions, readRecord, selectByName, selectPpse, SW } from '../../protocols/apdu.ts';
import {
  buildRecommendedCryptogramData, deriveCommonSessionKey, deriveIccMasterKeyOptionA, verifyApplicationCryptogram,
} from '../../protocols/crypto/index.ts';
import { decodeTlv, flattenTlv } from '../../protocols/tlv.ts';
import { CardReadError, readContactlessCard, terminalTransactionQualifiers } from '../pos/kernel.ts';
import { ContactlessCardEmulator, UNIONPAY_CREDIT_AID, UNIONPAY_DEBIT_AID } from './contactless-card.ts';

const imk = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
function profile(overrides: Partial<CardPersonalization> = {}): CardPersonalization {
  const pan = overrides.pan ?? '6217001234567890123';
  const acAlgorithm = overrides.acAlgorithm ?? 'tdes';
  return {
    pan, panSequence: '01', expiryYymm: '3112', holderName: 'ZHANG SAN', acAlgorithm, cryptogramVersion: acAlgorithm === 'sm4' ? 4 : 1,
    cardMasterKeyAcHex: deriveIccMasterKeyOptionA(acAlgorithm, imk, pan, '01').toString('hex'), atc: 7, onlinePinAlways: false, ...overrides,
  };
}
const transmit = async (card: ContactlessCardEmulator, command: Parameters<typeof encodeCommandApdu>[0]) =>
  decodeResponseApdu(await card.transmit(encodeCommandApdu(command)));
const transaction = (amountFen: bigint) => ({ amountFen, type: 'purchase' as const, now: new Date('2026-11-22T04:00:00Z'), terminalId: 'POS00001' });

describe('contactless card emulator + POS kernel (qPBOC)', () => {
  for (const acAlgorithm of ['tdes', 'sm4'] as const) {
    it(`reads the card and gets an ARQC the issuer can verify (${acAlgorithm})`, async () => {
      const card = new ContactlessCardEmulator(profile({ acAlgorithm }));
      const read = await readContactlessCard(card, transaction(2_350n));
      assert.equal(read.pan, '6217001234567890123');
      assert.equal(read.expiryYymm, '3112');
      assert.equal(read.aid, UNIONPAY_DEBIT_AID.toString('hex').toUpperCase());
      assert.equal(read.atc, 8);
      assert.equal(card.atc, 8);
      assert.equal(read.cvm, 'none');
      const icc = flattenTlv(decodeTlv(read.iccData));
      const mk = deriveIccMasterKeyOptionA(acAlgorithm, imk, read.pan, '01');
      const data = buildRecommendedCryptogramData({
        amountAuthorised: icc.get('9F02')!, amountOther: icc.get('9F03')!, terminalCountryCode: icc.get('9F1A')!, terminalVerificationResults: icc.get('95')!,
        transactionCurrencyCode: icc.get('5F2A')!, transactionDate: icc.get('9A')!, transactionType: icc.get('9C')!, unpredictableNumber: icc.get('9F37')!,
        applicationInterchangeProfile: icc.get('82')!, applicationTransactionCounter: icc.get('9F36')!, issuerApplicationDataPart: icc.get('9F10')!.subarray(3, 7),
      });
      assert.ok(verifyApplicationCryptogram(acAlgorithm, deriveCommonSessionKey(acAlgorithm, mk, icc.get('9F36')!), data, icc.get('9F26')!));
      assert.equal(icc.get('9F27')![0], 0x80, 'CID says ARQC');
      assert.equal(icc.get('9F02')!.toString('hex'), '000000002350');
    });
  }

  it('asks for online PIN above the ¥1,000 no-CVM limit, or always when personalised so', async () => {
    assert.equal((await readContactlessCard(new ContactlessCardEmulator(profile()), transaction(100_001n))).cvm, 'online_pin');
    assert.equal((await readContactlessCard(new ContactlessCardEmulator(profile()), transaction(100_000n))).cvm, 'none');
    assert.equal((await readContactlessCard(new ContactlessCardEmulator(profile({ onlinePinAlways: true })), transaction(100n))).cvm, 'online_pin');
    assert.equal(terminalTransactionQualifiers(100_001n)[1]! & 0x40, 0x40);
  });

  it('takes a consumer-device CVM (CTQ byte 2 bit 8, as a phone sets after a fingerprint) instead of a PIN', async () => {
    const emulator = new ContactlessCardEmulator(profile());
    // A phone's applet answers GPO with CDCVM performed; here the emulator's answer is rewritten to say so.
    const phoneLike = {
      async transmit(command: Buffer) {
        const response = await emulator.transmit(command);
        if (command[1] !== 0xa8) return response;
        const at = response.indexOf(Buffer.from('9F6C02', 'hex'));
        const patched = Buffer.from(response);
        patched[at + 4] = 0x80;
        return patched;
      },
    };
    const read = await readContactlessCard(phoneLike, transaction(500_000n));
    assert.equal(read.cvm, 'cdcvm');
  });

  it('selects the credit AID for a 16-digit credit card', async () => {
    const read = await readContactlessCard(new ContactlessCardEmulator(profile({ pan: '6253621234567893' })), transaction(100n));
    assert.equal(read.aid, UNIONPAY_CREDIT_AID.toString('hex').toUpperCase());
    assert.equal(read.label, 'UnionPay Credit');
  });

  it('answers out-of-order and unknown commands with status words, never crashing', async () => {
    const card = new ContactlessCardEmulator(profile());
    assert.equal((await transmit(card, getProcessingOptions(Buffer.alloc(33)))).sw, SW.CONDITIONS_NOT_SATISFIED);
    assert.equal((await transmit(card, selectByName(Buffer.from('A0000000031010', 'hex')))).sw, SW.FILE_NOT_FOUND);
    assert.equal((await transmit(card, readRecord(1, 1))).sw, SW.RECORD_NOT_FOUND);
    assert.equal((await transmit(card, selectPpse())).sw, SW.OK);
    assert.equal((await transmit(card, selectByName(UNIONPAY_DEBIT_AID))).sw, SW.OK);
    assert.equal((await transmit(card, getProcessingOptions(Buffer.alloc(3)))).sw, SW.WRONG_DATA, 'PDOL data of the wrong length');
    assert.equal(decodeResponseApdu(await card.transmit(Buffer.from([0x00]))).sw, SW.WRONG_LENGTH);
    assert.equal((await transmit(card, { cla: 0x80, ins: 0x50, p1: 0, p2: 0, data: Buffer.alloc(0) })).sw, SW.INS_NOT_SUPPORTED);
    assert.equal(card.atc, 7, 'no GPO succeeded, so the ATC did not move');
  });

  it('the kernel refuses a card without a UnionPay application', async () => {
    const foreign = { transmit: async () => Buffer.from('6A82', 'hex') };
    await assert.rejects(readContactlessCard(foreign, transaction(100n)), (error: unknown) => error instanceof CardReadError && error.code === 'card_refused');
  });
});
