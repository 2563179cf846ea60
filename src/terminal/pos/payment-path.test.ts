// End to end over real TCP on 127.0.0.1: emulated contactless card → POS kernel → ISO 8583
// (BCD) → network switch → ISO 8583 (ASCII) → the issuing bank's endpoint, and back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { CardPersonalization } from '../../bank/client.ts';
import { apiClient, issueCard, residentIdFor, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { findCardNumbers } from '../../infra/log/captured-logs.ts';
import { cardNumberHash } from '../../network/card-number.ts';
import { storedCardNumbers } from '../../network/card-number-scan.ts';
import { createTcpNetworkClient, type NetworkClient } from '../../network/client.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { ContactlessCardEmulator } from '../card-emulator/contactless-card.ts';
import { readContactlessCard } from './kernel.ts';
import { PosTerminal } from './pos-terminal.ts';
import { formatReceipt } from './receipt.ts';

let system: TestSystem;
let network: NetworkClient;
/** POS00001's own authenticated line, for the hand-built requests below. */
let line: NetworkClient;
let pos: PosTerminal;
let phoneSequence = 0;
/** Every card number this file used, to look for in the network's tables. */
const cardNumbers: string[] = [];

const pinPad = (pin: string) => ({ enterPin: async () => pin });

async function newCard(options: { bank?: string; kind?: 'debit' | 'credit'; balanceFen?: number; expiry?: string; pin?: string; onlinePinAlways?: boolean } = {}): Promise<CardPersonalization> {
  phoneSequence += 1;
  const pan = await issueCard(system, {
    bank: options.bank ?? 'CCB', kind: options.kind ?? 'debit', name: '张三', idNumber: residentIdFor('1990-01-01'),
    phone: `1380000${String(phoneSequence).padStart(4, '0')}`, balanceFen: options.balanceFen ?? 500_000, ...(options.expiry ? { expiry: options.expiry } : {}),
  });
  const response = await apiClient(system.bank.app)('POST', '/v1/sandbox/cards/personalization', {
    body: { card_number: pan, pin: options.pin ?? '123456', online_pin_always: options.onlinePinAlways ?? false },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const b = response.body;
  cardNumbers.push(b.pan);
  return {
    pan: b.pan, panSequence: b.pan_sequence, expiryYymm: b.expiry, holderName: b.holder_name, acAlgorithm: b.ac_algorithm,
    cryptogramVersion: b.cryptogram_version, cardMasterKeyAcHex: b.card_master_key_ac, atc: b.atc, onlinePinAlways: b.online_pin_always,
  };
}

/** The network log's keyed hash of a card number (card-number.ts). */
function panHash(pan: string): string {
  return cardNumberHash({ hashKey: system.keyring.key('network.pan-hash', 32), sealKey: Buffer.alloc(0) }, pan);
}

async function balanceOf(pan: string): Promise<bigint> {
  const row = await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen').where('pan', '=', pan).executeTakeFirstOrThrow();
  return row.balance_fen as bigint;
}

async function heldOf(pan: string): Promise<bigint> {
  return system.bankAuthorization.personalizer.heldFen(pan);
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  system = await startTestSystem({ networkBankTimeoutMs: 1_500 });
  const address = system.network.server.address()!;
  network = createTcpNetworkClient({ host: address.host, port: address.port });
  const terminal = await system.network.registerTerminal({ terminalId: 'POS00001', merchantId: '898110000000001', merchantName: 'MI HOME BEIJING', mcc: '5732' });
  pos = new PosTerminal({ ...terminal, network, networkTimeoutMs: 10_000, clock: system.clock.now });
  line = pos.line;
});

after(async () => {
  await network.close();
  await system.close();
});

describe('POS → network → bank over TCP', () => {
  it('approves a small contactless purchase without PIN, debits once and prints a receipt with the last 4 only', async () => {
    const card = await newCard();
    const receipt = await pos.charge({ amountFen: 2_350n, card: new ContactlessCardEmulator(card) });
    assert.equal(receipt.responseCode, '00');
    assert.equal(receipt.approved, true);
    assert.equal(receipt.cvm, 'none');
    assert.match(receipt.authCode ?? '', /^[0-9]{6}$/);
    assert.match(receipt.rrn ?? '', /^[0-9]{12}$/);
    assert.equal(await balanceOf(card.pan), 500_000n - 2_350n);
    const text = formatReceipt(receipt);
    assert.ok(text.includes(card.pan.slice(-4)) && text.includes('23.50') && text.includes('POS00001') && text.includes(receipt.rrn!));
    assert.ok(!text.includes(card.pan), 'the receipt never shows the full card number');
  });

  it('asks for the PIN above ¥1,000 and approves with the right one', async () => {
    const card = await newCard({ balanceFen: 300_000 });
    const receipt = await pos.charge({ amountFen: 150_000n, card: new ContactlessCardEmulator(card), pinPad: pinPad('123456') });
    assert.equal(receipt.responseCode, '00');
    assert.equal(receipt.cvm, 'online_pin');
    assert.equal(await balanceOf(card.pan), 150_000n);
  });

  it('asks for the PIN below the limit when the card requires it', async () => {
    const card = await newCard({ onlinePinAlways: true });
    await assert.rejects(pos.charge({ amountFen: 100n, card: new ContactlessCardEmulator(card) }), { code: 'pin_required' });
    const receipt = await pos.charge({ amountFen: 100n, card: new ContactlessCardEmulator(card), pinPad: pinPad('123456') });
    assert.equal(receipt.responseCode, '00');
  });

  it('approves an SM4 (PBOC 3.0) card of a bank that issues them', async () => {
    const card = await newCard({ bank: 'CMB' });
    assert.equal(card.acAlgorithm, 'sm4');
    const receipt = await pos.charge({ amountFen: 999n, card: new ContactlessCardEmulator(card) });
    assert.equal(receipt.responseCode, '00');
  });

  it('declines insufficient funds (51) and moves nothing', async () => {
    const card = await newCard({ balanceFen: 1_000 });
    const receipt = await pos.charge({ amountFen: 1_001n, card: new ContactlessCardEmulator(card) });
    assert.equal(receipt.responseCode, '51');
    assert.equal(receipt.approved, false);
    assert.equal(await balanceOf(card.pan), 1_000n);
  });

  it('declines a wrong PIN (55), and the third wrong PIN in a row with 75', async () => {
    const card = await newCard();
    const emulated = new ContactlessCardEmulator(card);
    for (const expected of ['55', '55', '75', '75']) {
      const receipt = await pos.charge({ amountFen: 120_000n, card: emulated, pinPad: pinPad('000000') });
      assert.equal(receipt.responseCode, expected);
    }
    assert.equal((await pos.charge({ amountFen: 120_000n, card: emulated, pinPad: pinPad('123456') })).responseCode, '75');
    assert.equal(await balanceOf(card.pan), 500_000n);
  });

  it('declines a bad cryptogram (05)', async () => {
    const card = await newCard();
    const forged = { ...card, cardMasterKeyAcHex: '0123456789ABCDEFFEDCBA9876543210' };
    const receipt = await pos.charge({ amountFen: 500n, card: new ContactlessCardEmulator(forged) });
    assert.equal(receipt.responseCode, '05');
    assert.equal(await balanceOf(card.pan), 500_000n);
  });

  it('declines a replayed ATC (05) even with a valid cryptogram', async () => {
    const card = await newCard();
    assert.equal((await pos.charge({ amountFen: 500n, card: new ContactlessCardEmulator(card) })).responseCode, '00');
    // A clone of the card as it was before: its next ATC is one the bank has already seen.
    const clone = new ContactlessCardEmulator(card);
    assert.equal((await pos.charge({ amountFen: 500n, card: clone })).responseCode, '05');
    // Far ahead of the window is refused too.
    const jumped = new ContactlessCardEmulator({ ...card, atc: card.atc + 500 });
    assert.equal((await pos.charge({ amountFen: 500n, card: jumped })).responseCode, '05');
    assert.equal(await balanceOf(card.pan), 500_000n - 500n);
  });

  it('declines an expired card (54)', async () => {
    const card = await newCard({ expiry: '2001' });
    const receipt = await pos.charge({ amountFen: 500n, card: new ContactlessCardEmulator(card) });
    assert.equal(receipt.responseCode, '54');
  });

  it('declines a card reported lost (41)', async () => {
    const card = await newCard();
    const status = await apiClient(system.bank.app)('POST', '/v1/sandbox/cards/status', { body: { card_number: card.pan, status: 'lost' } });
    assert.equal(status.status, 200);
    const receipt = await pos.charge({ amountFen: 500n, card: new ContactlessCardEmulator(card) });
    assert.equal(receipt.responseCode, '41');
    assert.equal(await balanceOf(card.pan), 500_000n);
  });

  it('answers 91 when the bank is silent, then reverses at the bank so the money comes back', async () => {
    const card = await newCard();
    system.bankAuthorization.faults.delayAnswers(card.pan, 4_000);
    const receipt = await pos.charge({ amountFen: 7_000n, card: new ContactlessCardEmulator(card) });
    assert.equal(receipt.responseCode, '91');
    const log = system.database.forSchema<any>('network');
    await waitFor(async () => {
      const pending = await log.selectFrom('transactions').select(['reversal_status']).where('pan_hash', '=', panHash(card.pan)).executeTakeFirstOrThrow();
      return pending.reversal_status === 'done';
    }, 'the reversal to be acknowledged');
    // The bank processed the original (the answer was only delayed) and the reversal undid it once.
    assert.equal(await balanceOf(card.pan), 500_000n);
    const messages = await system.database.forSchema<any>('bank').selectFrom('authorization_messages').select(['kind', 'response_code', 'reversed_at'])
      .where('pan', '=', card.pan).orderBy('id').execute();
    assert.deepEqual(messages.map((m) => [m.kind, m.response_code, m.reversed_at !== null]), [['purchase', '00', true], ['reversal', '00', false]]);
    system.bankAuthorization.faults.clear(card.pan);
  });

  it('when the POS itself gives up waiting, it reverses through the network and the money comes back', async () => {
    const card = await newCard();
    const terminal = await system.network.registerTerminal({ terminalId: 'POS00002', merchantId: '898110000000002', merchantName: 'MI HOME SHANGHAI', mcc: '5732' });
    const impatient = new PosTerminal({ ...terminal, network, networkTimeoutMs: 300, clock: system.clock.now });
    system.bankAuthorization.faults.delayAnswers(card.pan, 1_000);
    const receipt = await impatient.charge({ amountFen: 8_800n, card: new ContactlessCardEmulator(card) });
    assert.equal(receipt.responseCode, '98');
    assert.equal(receipt.approved, false);
    const log = system.database.forSchema<any>('network');
    await waitFor(async () => {
      const row = await log.selectFrom('transactions').select('reversal_status').where('pan_hash', '=', panHash(card.pan)).where('terminal_id', '=', 'POS00002').executeTakeFirst();
      return row?.reversal_status === 'done';
    }, 'the terminal\'s reversal to reach the bank');
    assert.equal(await balanceOf(card.pan), 500_000n);
    system.bankAuthorization.faults.clear(card.pan);
  });

  it('refunds part of a purchase, refuses refunding more than is left, and clears both', async () => {
    const card = await newCard();
    const sale = await pos.charge({ amountFen: 10_000n, card: new ContactlessCardEmulator(card) });
    assert.equal(sale.responseCode, '00');
    const emulated = new ContactlessCardEmulator({ ...card, atc: card.atc + 1 });
    const refund = await pos.refund({ amountFen: 4_000n, originalRrn: sale.rrn!, card: emulated });
    assert.equal(refund.responseCode, '00');
    assert.equal(await balanceOf(card.pan), 500_000n - 6_000n);
    const tooMuch = await pos.refund({ amountFen: 6_001n, originalRrn: sale.rrn!, card: emulated });
    assert.equal(tooMuch.responseCode, '13');
    const unknown = await pos.refund({ amountFen: 100n, originalRrn: '000000000000', card: emulated });
    assert.equal(unknown.responseCode, '25');

    const businessDate = new Date(system.clock.now().getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
    const file = await system.network.clearingFile(businessDate);
    const lines = file.trim().split('\n');
    assert.match(lines[0]!, new RegExp(`^H,MIPAYNET,49990000,${businessDate},`));
    const mine = lines.filter((line) => line.startsWith(`D,${sale.rrn},`) || line.startsWith(`D,${refund.rrn},`));
    assert.equal(mine.length, 2);
    assert.match(mine[0]!, /,SALE,10000,156,[0-9]{6}$/);
    assert.match(mine[1]!, /,REFUND,4000,156,[0-9]{6}$/);
    assert.ok(!file.includes(card.pan), 'card numbers are masked in the clearing file');
    const trailer = lines.at(-1)!.split(',');
    assert.equal(trailer[0], 'T');
    assert.equal(Number(trailer[1]), lines.length - 2);
  });
});

describe('pre-authorization and its completion (预授权完成)', () => {
  it('completes a hold once, up to 115%, without reading the card again; the hold becomes a debit and is cleared as a completion', async () => {
    const card = await newCard({ balanceFen: 100_000 });
    const hold = await pos.charge({ amountFen: 50_000n, card: new ContactlessCardEmulator(card), mode: 'authorization' });
    assert.deepEqual([hold.responseCode, hold.kind], ['00', 'authorization']);
    assert.deepEqual([await heldOf(card.pan), await balanceOf(card.pan)], [50_000n, 100_000n]);

    const tooMuch = await pos.complete({ amountFen: 57_501n, originalRrn: hold.rrn! });
    assert.equal(tooMuch.responseCode, '13', 'more than 115% of the hold');
    assert.deepEqual([await heldOf(card.pan), await balanceOf(card.pan)], [50_000n, 100_000n], 'a refused completion changes nothing');

    const done = await pos.complete({ amountFen: 57_500n, originalRrn: hold.rrn! });
    assert.deepEqual([done.responseCode, done.kind, done.cardLast4], ['00', 'completion', card.pan.slice(-4)]);
    assert.match(done.authCode ?? '', /^[0-9]{6}$/);
    assert.deepEqual([await heldOf(card.pan), await balanceOf(card.pan)], [0n, 100_000n - 57_500n], 'the hold is released and the final amount debited');
    const text = formatReceipt(done);
    assert.ok(text.includes('PRE-AUTH COMPLETION') && text.includes(`**** ${card.pan.slice(-4)}`) && !text.includes(card.pan));

    const twice = await pos.complete({ amountFen: 100n, originalRrn: hold.rrn! });
    assert.equal(twice.responseCode, '25', 'an authorization completes once');
    const notAHold = await pos.charge({ amountFen: 1_000n, card: new ContactlessCardEmulator({ ...card, atc: card.atc + 1 }) });
    assert.equal((await pos.complete({ amountFen: 1_000n, originalRrn: notAHold.rrn! })).responseCode, '25', 'a sale is no authorization');
    assert.equal(await balanceOf(card.pan), 100_000n - 57_500n - 1_000n);

    // Another terminal cannot complete this terminal's holds.
    const elsewhere = await system.network.registerTerminal({ terminalId: 'POS00077', merchantId: '898110000000077', merchantName: 'ELSEWHERE', mcc: '5812' });
    const otherPos = new PosTerminal({ ...elsewhere, network, networkTimeoutMs: 10_000, clock: system.clock.now });
    const second = await pos.charge({ amountFen: 2_000n, card: new ContactlessCardEmulator({ ...card, atc: card.atc + 2 }), mode: 'authorization' });
    assert.equal((await otherPos.complete({ amountFen: 2_000n, originalRrn: second.rrn! })).responseCode, '25');
    assert.equal(await heldOf(card.pan), 2_000n);

    const businessDate = new Date(system.clock.now().getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
    const file = await system.network.clearingFile(businessDate);
    assert.match(file, new RegExp(`\\nD,${done.rrn},.*,COMPLETION,57500,156,${done.authCode}\\n`));
    assert.ok(!file.includes(`D,${hold.rrn},`), 'the hold itself moved no money and is not cleared');
  });

  it('a completion above the hold needs funds for the difference; reversing a completion puts the hold back, and it can be completed again', async () => {
    const card = await newCard({ balanceFen: 10_000 });
    const hold = await pos.charge({ amountFen: 9_000n, card: new ContactlessCardEmulator(card), mode: 'authorization' });
    assert.equal(hold.responseCode, '00');
    assert.equal((await pos.complete({ amountFen: 10_001n, originalRrn: hold.rrn! })).responseCode, '51', '115% allows 10,350 but the card has 10,000');

    const stan = '910001';
    const now = system.clock.now().toISOString();
    const mmdd = now.slice(5, 7) + now.slice(8, 10);
    const hhmmss = now.slice(11, 13) + now.slice(14, 16) + now.slice(17, 19);
    const completion: Iso8583Message = {
      mti: '0200',
      fields: { 3: '000000', 4: '000000010000', 7: mmdd + hhmmss, 11: stan, 12: hhmmss, 13: mmdd, 22: '012', 25: '06', 41: 'POS00001', 42: '898110000000001', 49: '156', 61: hold.rrn! },
    };
    const answer = await line.send(completion, 10_000);
    assert.deepEqual([answer.fields[39], answer.fields[2]], ['00', card.pan]);
    assert.equal(await balanceOf(card.pan), 0n);
    assert.equal((await line.send(completion, 10_000)).fields[37], answer.fields[37], 'a duplicate gets the first answer and debits nothing more');
    assert.equal(await balanceOf(card.pan), 0n);

    // The terminal reverses its completion: the money comes back and the hold is on again.
    const reversal: Iso8583Message = { mti: '0400', fields: { ...completion.fields, 11: '910002', 90: `0200${stan}${completion.fields[7]}${'0'.repeat(22)}` } };
    assert.equal((await line.send(reversal, 10_000)).fields[39], '00');
    await waitFor(async () => (await balanceOf(card.pan)) === 10_000n, 'the completion to be reversed');
    assert.equal(await heldOf(card.pan), 9_000n);
    const again = await pos.complete({ amountFen: 9_000n, originalRrn: hold.rrn! });
    assert.equal(again.responseCode, '00');
    assert.deepEqual([await heldOf(card.pan), await balanceOf(card.pan)], [0n, 1_000n]);
  });
});

describe('network duplicates and reversals', () => {
  async function rawRequest(card: CardPersonalization, mti: '0100' | '0200', stan: string, amountFen: bigint): Promise<Iso8583Message> {
    const now = system.clock.now();
    const read = await readContactlessCard(new ContactlessCardEmulator(card), { amountFen, type: 'purchase', now, terminalId: 'POS00001' });
    const iso = now.toISOString();
    const mmdd = iso.slice(5, 7) + iso.slice(8, 10);
    const hhmmss = iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
    return {
      mti,
      fields: {
        2: read.pan, 3: '000000', 4: String(amountFen).padStart(12, '0'), 7: mmdd + hhmmss, 11: stan, 12: hhmmss, 13: mmdd, 14: read.expiryYymm,
        22: '072', 23: `0${read.panSequence}`, 25: '00', 41: 'POS00001', 42: '898110000000001', 49: '156', 55: read.iccData,
      },
    };
  }

  it('answers a duplicate (same terminal, STAN, date) with the first answer and debits once', async () => {
    const card = await newCard();
    const request = await rawRequest(card, '0200', '900001', 1_234n);
    // A second terminal connection retransmitting while the first is still in flight, then once more later.
    const address = system.network.server.address()!;
    const otherLine = createTcpNetworkClient({ host: address.host, port: address.port });
    const [first, second] = await Promise.all([line.send(request, 10_000), otherLine.send(pos.line.authenticated(request)!, 10_000)]);
    await otherLine.close();
    const third = await line.send(request, 10_000);
    assert.equal(first.fields[39], '00');
    assert.equal(third.fields[39], '00');
    assert.equal(third.fields[37], first.fields[37]);
    assert.equal(third.fields[38], first.fields[38]);
    assert.equal(second.fields[37], first.fields[37]);
    assert.equal(await balanceOf(card.pan), 500_000n - 1_234n);
  });

  it('0100 places a hold; the terminal\'s 0400 releases it exactly once', async () => {
    const card = await newCard();
    const request = await rawRequest(card, '0100', '900002', 20_000n);
    const approved = await line.send(request, 10_000);
    assert.equal(approved.fields[39], '00');
    assert.equal(await heldOf(card.pan), 20_000n);
    assert.equal(await balanceOf(card.pan), 500_000n);
    const reversal: Iso8583Message = {
      mti: '0400',
      fields: { ...request.fields, 55: undefined, 11: '900003', 90: `0100900002${request.fields[7]}${'0'.repeat(22)}` },
    };
    assert.equal((await line.send(reversal, 10_000)).fields[39], '00');
    await waitFor(async () => (await heldOf(card.pan)) === 0n, 'the hold to be released');
    const again = { ...reversal, fields: { ...reversal.fields, 11: '900004' } };
    assert.equal((await line.send(again, 10_000)).fields[39], '00');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await heldOf(card.pan), 0n);
  });

  it('asks the token service about a token BIN (an unknown token: 14), and refuses an unknown BIN', async () => {
    const card = await newCard();
    const request = await rawRequest(card, '0200', '900005', 100n);
    const token = await line.send({ ...request, fields: { ...request.fields, 2: '6299900000000001' } }, 10_000);
    assert.equal(token.fields[39], '14');
    assert.equal(token.fields[44], 'TOKEN_UNKNOWN');
    const unknown = await line.send({ ...request, fields: { ...request.fields, 2: '6011000000000004', 11: '900006' } }, 10_000);
    assert.equal(unknown.fields[39], '15');
  });

  it('reverses a request whose answer the network never recorded (a crash mid-forward), once it is abandoned', async () => {
    const card = await newCard();
    const answered = await line.send(await rawRequest(card, '0200', '900010', 3_000n), 10_000);
    assert.equal(answered.fields[39], '00');
    assert.equal(await balanceOf(card.pan), 500_000n - 3_000n);
    // What a crash after forwarding leaves: the logged request, pending, with no route and no answer.
    const log = system.database.forSchema<any>('network');
    const mine = (q: any) => q.where('terminal_id', '=', 'POS00001').where('terminal_stan', '=', '900010');
    await mine(log.updateTable('transactions').set({ status: 'pending', response_code: null, response_fields: null, auth_code: null, issuer_code: null })).execute();
    assert.equal(await system.network.reversals.recoverAbandoned(), 0, 'not while a forward could still be running');
    system.clock.advance(2 * 2_000 + 6_000);
    // The issuer puts the money back before it acknowledges, and the network records the acknowledgement after: wait for both.
    await waitFor(async () => (await balanceOf(card.pan)) === 500_000n
      && (await mine(log.selectFrom('transactions').select('reversal_status')).executeTakeFirst())?.reversal_status === 'done', 'the reversal to be acknowledged');
    assert.equal(await balanceOf(card.pan), 500_000n, 'the reversal gave the money back');
    const row = await mine(log.selectFrom('transactions').selectAll()).executeTakeFirstOrThrow();
    assert.deepEqual([row.status, row.response_code, row.issuer_code, row.reversal_status], ['timed_out', '91', 'CCB', 'done']);
    assert.equal(await system.network.reversals.recoverAbandoned(), 0);
    await system.network.reversals.runOnce();
    assert.equal(await balanceOf(card.pan), 500_000n, 'reversed once');
  });

  it('refuses an unregistered terminal (03)', async () => {
    const card = await newCard();
    const request = await rawRequest(card, '0200', '900007', 100n);
    const answer = await line.send({ ...request, fields: { ...request.fields, 41: 'NOSUCHTM' } }, 10_000);
    assert.equal(answer.fields[39], '03');
  });

  it('never writes a card number, PIN or key to the logs', async () => {
    const text = system.logs.join("\n");
    // Luhn-valid card-like numbers, not fractions of response times (a bare digit pattern matched those now and then).
    assert.deepEqual(findCardNumbers(text), [], 'no full card number in logs');
    const rows = await sql<{ n: number }>`select count(*)::int as n from network.transactions`.execute(system.database.root);
    assert.ok(rows.rows[0]!.n > 0);
  });

  it('keeps no full card or token number in any network table after sales, refunds, reversals, timeouts and completions', async () => {
    const kinds = await sql<{ kind: string; reversal_status: string; status: string }>`select distinct kind, reversal_status, status
      from network.transactions`.execute(system.database.root);
    const seen = new Set(kinds.rows.map((r) => `${r.kind}/${r.status}/${r.reversal_status}`));
    for (const journey of ['purchase/answered/none', 'refund/answered/none', 'completion/answered/none', 'purchase/timed_out/done', 'authorization/answered/done']) {
      assert.ok(seen.has(journey), `the file logged a ${journey} request`);
    }
    assert.deepEqual(await storedCardNumbers(system.database.root, 'network', [...cardNumbers, '6299900000000001']), []);
    const masked = await sql<{ n: number }>`select count(*)::int as n from network.transactions where pan_hash is not null and length(pan_last4) = 4`
      .execute(system.database.root);
    assert.ok(masked.rows[0]!.n > 0, 'rows keep first 6, last 4 and a keyed hash');
  });
});
