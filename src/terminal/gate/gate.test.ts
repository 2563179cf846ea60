// Gates end to end: a real phone state file, the real gate with its PSAM, the real operators
// over HTTP. Issue, load, bus and metro fares offline, upload and settlement with every TAC
// checked; forged, replayed and blacklisted refused; T-Union clearing; taps and loads torn at
// every step leave the card and the operator agreeing to the fen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MiPhone } from '../../phone/phone.ts';
import { installIssuedCard, transitApplet, transitCards } from '../../phone/transit-cards.ts';
import { loadCard, proveLoad } from '../../phone/transit-load.ts';
import { brandByCode, BRANDS } from '../../transit/brands.ts';
import type { BrandWire, TransitOperatorClient } from '../../transit/client.ts';
import { startTestOperators, type TestOperators } from '../../transit/test-operators.ts';
import type { ContactlessCard } from '../../protocols/contactless.ts';
import type { GateMode } from './gate.ts';
import { createTransitGate } from './setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'mipay-gate-'));
let operators: TestOperators;
let client: TransitOperatorClient;
before(async () => {
  operators = await startTestOperators();
  client = operators.client;
});
after(async () => {
  await operators.close();
  rmSync(dir, { recursive: true, force: true });
});
let counter = 0;
const brand = (code: string): BrandWire => brandByCode(code)!;

async function phoneWithCard(brandCode: string, loadFen: bigint): Promise<{ phone: MiPhone; cardId: string; cardNumber: string }> {
  const phone = await MiPhone.create({
    path: join(dir, `phone-${++counter}.se`), passphrase: 'gate test passphrase', platformUrl: 'http://127.0.0.1:1', passcode: '246810',
    kdfCost: { n: 2 ** 10, r: 8, p: 1 },
  });
  const issued = await client.issueCard({ brandCode, requestId: `req-${counter}` });
  const cardId = `tc_${counter}`;
  installIssuedCard(phone, { id: cardId, brand: brand(brandCode), issued });
  if (loadFen > 0n) {
    const loadId = `load-${counter}`;
    const done = await loadCard(phone, { cardId, loadId, amountFen: loadFen, sign: (r) => client.signLoad(r) });
    await client.confirmLoad({ loadId, tac: done.tac });
  }
  return { phone, cardId, cardNumber: issued.cardNumber };
}

function gate(brandCode: string, mode: GateMode, gateId = `gate-${++counter}`) {
  return createTransitGate({
    gateId, brand: brand(brandCode), brands: BRANDS, mode, terminalId: Buffer.from(`0000${String(counter).padStart(8, '0')}`, 'hex'),
    purchaseMasterKey: (code) => operators.keys.get(code)!.purchase, storePath: join(dir, `${gateId}.json`),
  });
}

const balance = (phone: MiPhone) => transitCards(phone)[0]!.balanceFen;
/** The operator's books for a card: confirmed loads less settled purchases (closeCard would close it; records do not). */
async function operatorBalance(cardNumber: string): Promise<bigint> {
  const records = await client.records(cardNumber);
  return records.reduce((sum, r) => (r.kind === 'load' ? sum + r.amountFen : sum - r.amountFen), 0n);
}

/** The phone's applet with a tear: `before` a command drops it unsent, `after` it drops the answer. */
function tearing(card: ContactlessCard, ins: number, when: 'before' | 'after'): ContactlessCard {
  return {
    async transmit(command) {
      if (command[1] === ins && when === 'before') throw new Error('the phone left the field');
      const answer = await card.transmit(command);
      if (command[1] === ins) throw new Error('the phone left the field');
      return answer;
    },
  };
}

describe('gates and operators', () => {
  test('bus flat fare and metro entry/exit by distance, offline; upload settles every tap, TACs verified; books agree', async () => {
    const { phone, cardNumber } = await phoneWithCard('jjj', 5_000n);
    const bus = gate('jjj', { kind: 'bus' });
    const entry = gate('jjj', { kind: 'metro-entry', station: 1 });
    const exit = gate('jjj', { kind: 'metro-exit', station: 9 });
    const express = () => transitApplet(phone, { screenOff: true });
    assert.deepEqual(await bus.tap(express()), { outcome: 'charged', cardNumber, amountFen: 100n, balanceFen: 4_900n, offlineSeq: 0, recovered: false });
    assert.equal((await entry.tap(express())).outcome, 'entered');
    // 苹果园 (km 0) → 木樨地 (km 12): the 12 km band, ¥4.
    const out = await exit.tap(express());
    assert.equal(out.outcome, 'charged');
    assert.equal((out as { amountFen: bigint }).amountFen, 400n);
    assert.equal(balance(phone), 4_500n);
    for (const g of [bus, entry, exit]) assert.deepEqual(await g.upload(client), { settled: 1, cleared: 0, refused: 0 });
    assert.equal(await operatorBalance(cardNumber), 4_500n);
    // A metro exit with no entry on the card charges the maximum fare.
    assert.equal(((await exit.tap(express())) as { amountFen: bigint }).amountFen, 1_000n);
  });

  test('a forged record (bad TAC) and a replayed record are refused with their reasons; a blacklisted card is refused at the gate', async () => {
    const { phone, cardNumber } = await phoneWithCard('jjj', 2_000n);
    const bus = gate('jjj', { kind: 'bus' });
    await bus.tap(transitApplet(phone, { screenOff: true }));
    const [record] = bus.records.unsent;
    const forged = { ...record!, offlineSeq: 1, amountFen: 1n };
    const result = await client.upload({ gateId: 'g', brandCode: 'jjj', records: [record!, forged, record!] });
    assert.equal(result.settled, 1);
    assert.deepEqual(result.rejected.map((r) => [r.offlineSeq, r.reason]), [[1, 'bad_tac'], [0, 'duplicate']]);
    assert.deepEqual(await bus.upload(client), { settled: 0, cleared: 0, refused: 1 });
    assert.equal(bus.records.refused[0]!.reason, 'duplicate');
    await client.block({ cardNumber, reason: 'reported lost' });
    assert.equal(await bus.refreshBlacklist(client), 1);
    assert.deepEqual(await bus.tap(transitApplet(phone, { screenOff: true })), { outcome: 'refused', reason: 'blacklisted', cardNumber });
    assert.equal(balance(phone), 1_900n);
  });

  test('a T-Union card of another city (SM4 keys) settles through the clearing centre to its issuer', async () => {
    const { phone, cardNumber } = await phoneWithCard('js-suzhou', 1_000n);
    const bus = gate('jjj', { kind: 'bus' });
    assert.equal((await bus.tap(transitApplet(phone, { screenOff: true }))).outcome, 'charged');
    assert.deepEqual(await bus.upload(client), { settled: 1, cleared: 1, refused: 0 });
    assert.equal(await operatorBalance(cardNumber), 900n);
  });

  test('a retired brand is refused at issue, naming its replacement', async () => {
    await assert.rejects(client.issueCard({ brandCode: 'beijing', requestId: 'r-retired' }), { code: 'brand_retired', message: /京津冀互联互通卡/ });
    await assert.rejects(client.issueCard({ brandCode: 'hangzhoutong', requestId: 'r-retired2' }), { code: 'brand_retired', message: /QuickPass/ });
  });

  for (const [step, ins, when] of [['before INITIALIZE', 0x50, 'before'], ['after INITIALIZE', 0x54, 'before'], ['after DEBIT, before the answer', 0x54, 'after']] as const) {
    test(`a tap torn ${step}: the next tap finishes it, card and operator agree to the fen`, async () => {
      const { phone, cardNumber } = await phoneWithCard('jjj', 1_000n);
      const bus = gate('jjj', { kind: 'bus' });
      assert.equal((await bus.tap(tearing(transitApplet(phone, { screenOff: true }), ins, when))).outcome, 'torn');
      const again = await bus.tap(transitApplet(phone, { screenOff: true }));
      assert.equal(again.outcome, 'charged');
      // Torn after DEBIT: the card had paid; the second tap recovers that payment (GET TRANSACTION PROVE), charging nothing more.
      assert.equal((again as { recovered: boolean }).recovered, when === 'after');
      assert.equal(balance(phone), 900n);
      assert.deepEqual(await bus.upload(client), { settled: 1, cleared: 0, refused: 0 });
      assert.equal(await operatorBalance(cardNumber), 900n);
      assert.equal(transitCards(phone)[0]!.offlineSeq, 1);
    });
  }

  test('a load torn at each step is recovered: never lost, never doubled', async () => {
    const { phone, cardId, cardNumber } = await phoneWithCard('jjj', 0n);
    // Torn before the operator signed: nothing happened anywhere.
    await assert.rejects(loadCard(phone, { cardId, loadId: 'L1', amountFen: 1_000n, sign: async () => { throw new Error('offline'); } }));
    assert.equal(balance(phone), 0n);
    // Torn after signing, before CREDIT reached the card: the card's counter did not move, the load is re-signed for a fresh INITIALIZE.
    await assert.rejects(loadCard(phone, { cardId, loadId: 'L1', amountFen: 1_000n, sign: async (r) => { await client.signLoad(r); throw new Error('lost'); } }));
    assert.equal(await proveLoad(phone, { cardId, onlineSeq: 0 }), null);
    const done = await loadCard(phone, { cardId, loadId: 'L1', amountFen: 1_000n, sign: (r) => client.signLoad(r) });
    // Torn after CREDIT, before the TAC reached the operator: the card proves it; the operator confirms once.
    const proved = await proveLoad(phone, { cardId, onlineSeq: 0 });
    assert.deepEqual(proved, { tac: done.tac });
    await client.confirmLoad({ loadId: 'L1', tac: proved!.tac });
    await client.confirmLoad({ loadId: 'L1', tac: proved!.tac });
    // Asking to sign L1 again (a confused retry) is refused: the counter moved.
    await assert.rejects(loadCard(phone, { cardId, loadId: 'L1', amountFen: 1_000n, sign: (r) => client.signLoad(r) }), { code: 'load_counter_moved' });
    assert.equal(balance(phone), 1_000n);
    assert.equal(await operatorBalance(cardNumber), 1_000n);
    // A forged TAC does not confirm; a MAC1 not from the card is not signed.
    await assert.rejects(client.confirmLoad({ loadId: 'L1x', tac: '00000000' }), { code: 'load_not_found' });
    await assert.rejects(client.signLoad({ loadId: 'L9', cardNumber, amountFen: 1_000n, balanceFen: 1_000n, onlineSeq: 1, random: '01020304', mac1: '00000000', terminalId: '010203040506' }), { code: 'load_mac_invalid' });
  });
});
