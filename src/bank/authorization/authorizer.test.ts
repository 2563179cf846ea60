// The issuer's ISO 8583 host in process (the TCP path is covered end to end in
// src/terminal/pos/payment-path.test.ts): response codes, ARPC, duplicates, reversals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueCard, residentIdFor, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { deriveCommonSessionKey, encryptPinBlock, verifyArpcMethod1 } from '../../protocols/crypto/index.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { decodeTlv, findTlvValue } from '../../protocols/tlv.ts';
import { ContactlessCardEmulator } from '../../terminal/card-emulator/contactless-card.ts';
import { readContactlessCard } from '../../terminal/pos/kernel.ts';
import { printedCvn2 } from './card-verification.ts';
import type { CardPersonalization } from '../client.ts';

let system: TestSystem;
let stan = 100;
before(async () => {
  system = await startTestSystem();
});
after(() => system.close());

async function newCard(balanceFen = 100_000): Promise<CardPersonalization> {
  stan += 1;
  const pan = await issueCard(system, { bank: 'BOCOM', name: '李四', idNumber: residentIdFor('1985-05-05'), phone: `1370000${String(stan).padStart(4, '0')}`, balanceFen });
  return system.bankAuthorization.personalizer.personalize(pan, { pin: '2468' });
}

async function purchase(card: ContactlessCardEmulator, amountFen: bigint, mti = '0200'): Promise<Iso8583Message> {
  stan += 1;
  const read = await readContactlessCard(card, { amountFen, type: 'purchase', now: system.clock.now(), terminalId: 'TERM0001' });
  return {
    mti,
    fields: {
      2: read.pan, 3: '000000', 4: String(amountFen).padStart(12, '0'), 7: '1122100000', 11: String(stan).padStart(6, '0'), 22: '072',
      32: '49990000', 37: String(stan).padStart(12, '0'), 41: 'TERM0001', 42: '898110000000001', 49: '156', 55: read.iccData,
    },
  };
}

const handle = (message: Iso8583Message) => system.bankAuthorization.authorizer.handle(message);
async function balanceOf(pan: string): Promise<bigint> {
  const row = await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen').where('pan', '=', pan).executeTakeFirstOrThrow();
  return row.balance_fen as bigint;
}
const reversalOf = (original: Iso8583Message, reversalStan: string): Iso8583Message => ({
  mti: '0400',
  fields: { ...original.fields, 55: undefined, 11: reversalStan, 90: `${original.mti}${original.fields[11]}${original.fields[7]}${'49990000'.padStart(11, '0')}${'0'.repeat(11)}` },
});

describe('issuer authorization host', () => {
  it('approves with an ARPC (method 1 under the AC session key) the card can check against its ARQC', async () => {
    const profile = await newCard();
    const message = await purchase(new ContactlessCardEmulator(profile), 500n);
    const arqc = findTlvValue(decodeTlv(message.fields[55] as Buffer), '9F26')!;
    const atc = findTlvValue(decodeTlv(message.fields[55] as Buffer), '9F36')!;
    const answer = await handle(message);
    assert.equal(answer.mti, '0210');
    assert.equal(answer.fields[39], '00');
    assert.match(String(answer.fields[38]), /^[0-9]{6}$/);
    const iad = findTlvValue(decodeTlv(answer.fields[55] as Buffer), '91')!;
    assert.equal(iad.subarray(8).toString('ascii'), '00', 'ARC = the response code');
    const sessionKey = deriveCommonSessionKey(profile.acAlgorithm, Buffer.from(profile.cardMasterKeyAcHex, 'hex'), atc);
    assert.ok(verifyArpcMethod1(profile.acAlgorithm, sessionKey, arqc, iad.subarray(8), iad.subarray(0, 8)));
  });

  it('answers 30 for a missing field, 12 for an unsupported processing code, 14 for an unknown card', async () => {
    const message = await purchase(new ContactlessCardEmulator(await newCard()), 100n);
    assert.equal((await handle({ ...message, fields: { ...message.fields, 2: undefined } })).fields[39], '30');
    assert.equal((await handle({ ...message, fields: { ...message.fields, 3: '310000' } })).fields[39], '12');
    assert.equal((await handle({ ...message, fields: { ...message.fields, 2: '6222620000000000000' } })).fields[39], '14');
  });

  it('refuses chip data signed for another amount (05 DATA_MISMATCH)', async () => {
    const profile = await newCard();
    const message = await purchase(new ContactlessCardEmulator(profile), 100n);
    const answer = await handle({ ...message, fields: { ...message.fields, 4: '000000000001' } });
    assert.equal(answer.fields[39], '05');
    assert.equal(answer.fields[44], 'DATA_MISMATCH');
  });

  it('answers concurrent copies of one request once: same answer, one debit', async () => {
    const profile = await newCard();
    const message = await purchase(new ContactlessCardEmulator(profile), 3_000n);
    const answers = await Promise.all(Array.from({ length: 5 }, () => handle(message)));
    for (const answer of answers) {
      assert.equal(answer.fields[39], '00');
      assert.equal(answer.fields[38], answers[0]!.fields[38]);
    }
    assert.equal(await balanceOf(profile.pan), 97_000n);
  });

  it('reverses once, however many times the reversal is sent', async () => {
    const profile = await newCard();
    const message = await purchase(new ContactlessCardEmulator(profile), 4_000n);
    assert.equal((await handle(message)).fields[39], '00');
    assert.equal(await balanceOf(profile.pan), 96_000n);
    const reversal = reversalOf(message, '999001');
    for (let i = 0; i < 3; i++) assert.equal((await handle(reversal)).fields[39], '00');
    assert.equal((await handle(reversalOf(message, '999002'))).fields[39], '00');
    assert.equal(await balanceOf(profile.pan), 100_000n);
  });

  it('a reversal that arrives before its original makes the late original decline (05 REVERSED)', async () => {
    const profile = await newCard();
    const message = await purchase(new ContactlessCardEmulator(profile), 4_000n);
    const reversalAnswer = await handle(reversalOf(message, '999003'));
    assert.equal(reversalAnswer.fields[39], '00');
    const late = await handle(message);
    assert.equal(late.fields[39], '05');
    assert.equal(late.fields[44], 'REVERSED');
    assert.equal(await balanceOf(profile.pan), 100_000n);
  });

  it('declines a frozen card (57) and a closed one (14)', async () => {
    const frozen = await newCard();
    await system.bank.service.setCardStatus(frozen.pan, 'frozen');
    assert.equal((await handle(await purchase(new ContactlessCardEmulator(frozen), 100n))).fields[39], '57');
    const closed = await newCard();
    await system.bank.service.setCardStatus(closed.pan, 'closed');
    assert.equal((await handle(await purchase(new ContactlessCardEmulator(closed), 100n))).fields[39], '14');
  });

  it('decides from its copy of a card only while the card is unchanged: a balance moved elsewhere and a status change are seen', async () => {
    const profile = await newCard();
    const card = new ContactlessCardEmulator(profile);
    assert.equal((await handle(await purchase(card, 1_000n))).fields[39], '00');
    // Money leaves the account by another path (as a settlement would), behind the authorizer's back.
    await system.database.forSchema<any>('bank').updateTable('card_accounts').set({ balance_fen: 1_500n }).where('pan', '=', profile.pan).execute();
    assert.equal((await handle(await purchase(card, 2_000n))).fields[39], '51');
    assert.equal((await handle(await purchase(card, 1_000n))).fields[39], '00');
    assert.equal(await balanceOf(profile.pan), 500n);
    await system.bank.service.setCardStatus(profile.pan, 'lost');
    assert.equal((await handle(await purchase(card, 100n))).fields[39], '41');
    assert.equal(await balanceOf(profile.pan), 500n);
  });

  it('answers a copy of an answered request with the first answer, once the card is known, and debits once', async () => {
    const profile = await newCard();
    const card = new ContactlessCardEmulator(profile);
    assert.equal((await handle(await purchase(card, 700n))).fields[39], '00');
    const message = await purchase(card, 2_000n);
    const first = await handle(message);
    const again = await handle(message);
    assert.equal(first.fields[39], '00');
    assert.equal(again.fields[39], '00');
    assert.equal(again.fields[38], first.fields[38]);
    assert.deepEqual(again.fields[55], first.fields[55]);
    assert.equal(await balanceOf(profile.pan), 97_300n);
  });

  it('counts a wrong PIN once, however many copies of the request arrive', async () => {
    const profile = await newCard();
    const card = new ContactlessCardEmulator(profile);
    const wrongPin = encryptPinBlock('tdes', await system.bankAuthorization.zonePinKey('BOCOM'), '1111', profile.pan);
    // A keyed-in card (no chip data, no ATC): nothing but the answer store tells a copy from a new try.
    const cvn2 = printedCvn2(system.keyring.key('bank.bocom.cvk', 16), profile.pan, profile.expiryYymm);
    const swiped = async () => {
      const message = await purchase(card, 300n);
      return { ...message, fields: { ...message.fields, 22: '011', 14: profile.expiryYymm, 48: cvn2, 55: undefined, 52: wrongPin } };
    };
    const message = await swiped();
    for (let i = 0; i < 3; i++) assert.equal((await handle(message)).fields[39], '55');
    // One wrong try so far, not three: the next is the second (55), the one after it the third (75).
    assert.equal((await handle(await swiped())).fields[39], '55');
    assert.equal((await handle(await swiped())).fields[39], '75');
  });
});
