// The phone's transit applet over real APDUs and the real state file: SELECT by AID, the public
// files, purchase (MAC1 checked, TAC and MAC2 out, written before the answer), load, GET
// TRANSACTION PROVE after a tear, express mode, one T-Union card per phone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  SW, creditForLoad, debitForPurchase, decodeResponseApdu, encodeCommandApdu, getBalance, getTransactionProve,
  initializeForLoad, initializeForPurchase, readBinary, readRecord, selectByName, INITIALIZE_FOR_PURCHASE_RESPONSE,
  INITIALIZE_FOR_LOAD_RESPONSE, DEBIT_FOR_PURCHASE_RESPONSE, GET_TRANSACTION_PROVE_RESPONSE, type CommandApdu,
} from '../protocols/apdu.ts';
import {
  ISSUER_FILE, TRANSACTION_RECORD, TRANSACTION_TYPE, diversifyCardKey, loadMacs, purchaseMacs,
} from '../protocols/epurse/index.ts';
import { MiPhone } from './phone.ts';
import type { StoredTransitCard } from './phone-state.ts';
import { installTransitCard, setExpress, transitApplet, transitCards } from './transit-cards.ts';
import type { TransitApplet } from './transit-applet.ts';

const dir = mkdtempSync(join(tmpdir(), 'mipay-transit-applet-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cheap = { n: 2 ** 10, r: 8, p: 1 };
const master = { purchase: Buffer.alloc(16, 0x11), load: Buffer.alloc(16, 0x22), tac: Buffer.alloc(16, 0x33) };
const TUNION_AID = 'A000000632010105';
const terminalId = Buffer.from('010203040506', 'hex');
let counter = 0;

function card(id: string, cardNumber: string, over: Partial<StoredTransitCard> = {}): Omit<StoredTransitCard, 'express'> {
  const algorithm = over.algorithm ?? 'tdes';
  const k = (m: Buffer) => diversifyCardKey(algorithm, m, cardNumber).toString('hex');
  const issuerFile = ISSUER_FILE.encode({
    issuerId: Buffer.alloc(8, 1), applicationType: 2, applicationVersion: 1, cardNumber: cardNumber.padStart(20, '0'),
    validFrom: '20261130', validUntil: '20361130', reserved: Buffer.alloc(2),
  }).toString('hex');
  return {
    id, brandCode: 'jjj', brandName: '京津冀互联互通卡', kind: 'tunion', aid: TUNION_AID, algorithm, cardNumber, issuerFile, tripSfi: 0x17,
    tripRecord: null, keys: { purchase: k(master.purchase), load: k(master.load), tac: k(master.tac), version: 1 },
    balanceFen: '1000', balanceCapFen: '100000', offlineSeq: 0, onlineSeq: 0, records: [], proves: [], status: 'active', ...over,
  };
}

async function newPhone(): Promise<MiPhone> {
  return MiPhone.create({ path: join(dir, `p${++counter}.se`), passphrase: 'transit passphrase', platformUrl: 'http://127.0.0.1:1', passcode: '246810', kdfCost: cheap });
}

async function send(applet: TransitApplet, command: CommandApdu) {
  return decodeResponseApdu(await applet.transmit(encodeCommandApdu(command)));
}

/** A purchase the way a PSAM runs it, keys from the master keys. */
async function purchase(applet: TransitApplet, cardNumber: string, amountFen: bigint, options: { badMac?: boolean } = {}) {
  const init = await send(applet, initializeForPurchase({ keyIndex: 1, amountFen, terminalId }));
  if (init.sw !== SW.OK) return { sw: init.sw };
  const r = INITIALIZE_FOR_PURCHASE_RESPONSE.decode(init.data);
  const facts = { amountFen, transactionType: TRANSACTION_TYPE.purchase, terminalId, terminalSeq: 77, date: '20261130', time: '081500' };
  const keys = { purchaseKey: diversifyCardKey('tdes', master.purchase, cardNumber), tacKey: diversifyCardKey('tdes', master.tac, cardNumber) };
  const macs = purchaseMacs('tdes', keys, { random: r.random, offlineSeq: r.offlineSeq }, facts);
  const mac1 = options.badMac ? Buffer.alloc(4) : macs.mac1;
  const debit = await send(applet, debitForPurchase({ terminalSeq: 77, date: '20261130', time: '081500', mac1 }));
  return { sw: debit.sw, init: r, macs, debit: debit.sw === SW.OK ? DEBIT_FOR_PURCHASE_RESPONSE.decode(debit.data) : undefined };
}

test('express card: SELECT by AID, read 0x15, balance, a purchase with MAC1 checked; TAC and MAC2 out and written to the file', async () => {
  const phone = await newPhone();
  installTransitCard(phone, card('tc_1', '3104000012345678'));
  const applet = transitApplet(phone, { screenOff: true });
  assert.equal((await send(applet, selectByName(Buffer.from('A000000333010101', 'hex')))).sw, SW.FILE_NOT_FOUND);
  assert.equal((await send(applet, selectByName(Buffer.from(TUNION_AID, 'hex')))).sw, SW.OK);
  const issuer = ISSUER_FILE.decode((await send(applet, readBinary(0x15, 0, 30))).data);
  assert.equal(issuer.cardNumber, '00003104000012345678');
  const done = await purchase(applet, '3104000012345678', 200n);
  assert.equal(done.sw, SW.OK);
  assert.deepEqual(done.debit, { tac: done.macs!.tac, mac2: done.macs!.mac2 });
  const balance = await send(applet, getBalance());
  assert.equal(balance.data.readUInt32BE(0), 800);
  const rec = TRANSACTION_RECORD.decode((await send(applet, readRecord(0x18, 1))).data);
  assert.equal(rec.amountFen, 200n);
  assert.equal(rec.seq, 0);
  // Durable: the state file opened again holds the new balance and counter.
  const reopened = await MiPhone.open(phone.path, 'transit passphrase');
  assert.deepEqual(transitCards(reopened).map((c) => [c.balanceFen, c.offlineSeq]), [[800n, 1]]);
});

test('a wrong MAC1 is refused with 9302 and debits nothing; too little balance is 9401', async () => {
  const phone = await newPhone();
  installTransitCard(phone, card('tc_1', '3104000012345678'));
  const applet = transitApplet(phone, { screenOff: true });
  await send(applet, selectByName(Buffer.from(TUNION_AID, 'hex')));
  assert.equal((await purchase(applet, '3104000012345678', 200n, { badMac: true })).sw, SW.PBOC_MAC_INVALID);
  assert.equal((await purchase(applet, '3104000012345678', 5000n)).sw, SW.PBOC_INSUFFICIENT_BALANCE);
  assert.deepEqual(transitCards(phone).map((c) => [c.balanceFen, c.offlineSeq]), [[1000n, 0]]);
});

test('GET TRANSACTION PROVE answers the MAC2 and TAC of a finished purchase after a tear, 9406 for one never done', async () => {
  const phone = await newPhone();
  installTransitCard(phone, card('tc_1', '3104000012345678'));
  const applet = transitApplet(phone, { screenOff: true });
  await send(applet, selectByName(Buffer.from(TUNION_AID, 'hex')));
  const done = await purchase(applet, '3104000012345678', 300n);
  applet.reset(); // the answer was lost: the phone left the field
  await send(applet, selectByName(Buffer.from(TUNION_AID, 'hex')));
  const prove = await send(applet, getTransactionProve(TRANSACTION_TYPE.purchase, 0));
  assert.deepEqual(GET_TRANSACTION_PROVE_RESPONSE.decode(prove.data), { mac2: done.macs!.mac2, tac: done.macs!.tac });
  assert.equal((await send(applet, getTransactionProve(TRANSACTION_TYPE.purchase, 1))).sw, SW.PBOC_MAC_UNAVAILABLE);
});

test('a load: MAC1 from the card, MAC2 from the issuer, balance cap enforced', async () => {
  const phone = await newPhone();
  installTransitCard(phone, card('tc_1', '3104000012345678', { balanceCapFen: '5000' }));
  const applet = transitApplet(phone, { screenOff: true });
  await send(applet, selectByName(Buffer.from(TUNION_AID, 'hex')));
  assert.equal((await send(applet, initializeForLoad({ keyIndex: 1, amountFen: 4001n, terminalId }))).sw, SW.PBOC_BALANCE_LIMIT_EXCEEDED);
  const init = INITIALIZE_FOR_LOAD_RESPONSE.decode((await send(applet, initializeForLoad({ keyIndex: 1, amountFen: 4000n, terminalId }))).data);
  const keys = { loadKey: diversifyCardKey('tdes', master.load, '3104000012345678'), tacKey: diversifyCardKey('tdes', master.tac, '3104000012345678') };
  const facts = { amountFen: 4000n, terminalId, date: '20261130', time: '090000' };
  const macs = loadMacs('tdes', keys, { random: init.random, onlineSeq: init.onlineSeq, balanceFen: init.balanceFen }, facts);
  assert.deepEqual(init.mac1, macs.mac1);
  assert.equal((await send(applet, creditForLoad({ date: '20261130', time: '090000', mac2: Buffer.alloc(4) }))).sw, SW.PBOC_MAC_INVALID);
  // The failed CREDIT ended the session: a new INITIALIZE is needed (new random, new MAC2).
  const init2 = INITIALIZE_FOR_LOAD_RESPONSE.decode((await send(applet, initializeForLoad({ keyIndex: 1, amountFen: 4000n, terminalId }))).data);
  const macs2 = loadMacs('tdes', keys, { random: init2.random, onlineSeq: init2.onlineSeq, balanceFen: init2.balanceFen }, facts);
  const credit = await send(applet, creditForLoad({ date: '20261130', time: '090000', mac2: macs2.mac2 }));
  assert.equal(credit.sw, SW.OK);
  assert.deepEqual(credit.data, macs2.tac);
  assert.deepEqual(transitCards(phone).map((c) => [c.balanceFen, c.onlineSeq]), [[5000n, 1]]);
});

test('express mode: only the express card answers with the screen off; another card answers when picked with a fingerprint', async () => {
  const phone = await newPhone();
  installTransitCard(phone, card('tc_1', '3104000012345678'));
  installTransitCard(phone, card('tc_2', '2000000000000001', { kind: 'city', brandName: '深圳通', aid: 'A00000000386980701' }));
  assert.equal((await send(transitApplet(phone, { screenOff: true }), selectByName(Buffer.from('A00000000386980701', 'hex')))).sw, SW.FILE_NOT_FOUND);
  const picked = transitApplet(phone, { cardId: 'tc_2', finger: 'right-thumb' });
  assert.equal((await send(picked, selectByName(Buffer.from('A00000000386980701', 'hex')))).sw, SW.OK);
  assert.throws(() => transitApplet(phone, { cardId: 'tc_2', finger: 'left-thumb' }), { code: 'fingerprint_not_recognized' });
  setExpress(phone, 'tc_2', true);
  assert.equal((await send(transitApplet(phone, { screenOff: true }), selectByName(Buffer.from(TUNION_AID, 'hex')))).sw, SW.FILE_NOT_FOUND);
  assert.equal((await send(transitApplet(phone, { screenOff: true }), selectByName(Buffer.from('A00000000386980701', 'hex')))).sw, SW.OK);
});

test('a second T-Union card is refused, naming the brand already there', async () => {
  const phone = await newPhone();
  installTransitCard(phone, card('tc_1', '3104000012345678'));
  assert.throws(() => installTransitCard(phone, card('tc_2', '3104000099999999', { brandName: '盛京通' })),
    { code: 'transit_tunion_present', message: /京津冀互联互通卡/ });
});

test('a state file written before transit cards existed opens with none', async () => {
  const phone = await newPhone();
  assert.equal(phone.state.transitCards, undefined);
  const reopened = await MiPhone.open(phone.path, 'transit passphrase');
  assert.deepEqual(transitCards(reopened), []);
});
