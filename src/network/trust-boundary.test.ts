// Attacks on the ISO 8583 ports, over real TCP on 127.0.0.1, against the whole system: forged
// sales, holds, refunds and reversals without a MAC or from the wrong terminal (network port and
// the bank's port), pre-emptive reversals, TSPV from outside the network link, keyed-in cards
// without CVN2, key rolls, a tampered answer, and idle sockets. Each asserts the refusal and that
// no balance, hold or log row changed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTcpBankIso8583Client, type BankIso8583Client, type CardPersonalization } from '../bank/client.ts';
import { printedCvn2 } from '../bank/authorization/card-verification.ts';
import { issueCard, residentIdFor, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { createIso8583Server, type Iso8583Server } from '../infra/net/iso8583-channel.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';
import { withMessageMac } from '../protocols/iso8583/message-mac.ts';
import { signOnMacKey } from './working-keys.ts';
import { ContactlessCardEmulator } from '../terminal/card-emulator/contactless-card.ts';
import { readContactlessCard } from '../terminal/pos/kernel.ts';
import { PosTerminal } from '../terminal/pos/pos-terminal.ts';
import { createTcpNetworkClient, TERMINAL_SPEC, type NetworkClient, type RegisteredTerminal } from './client.ts';
import { createLogger } from '../infra/log/logger.ts';
import { Writable } from 'node:stream';

const silentLogger = createLogger({ name: 'proxy', level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

let system: TestSystem;
let raw: NetworkClient;
let bankRaw: BankIso8583Client;
const clients: NetworkClient[] = [];
let a: RegisteredTerminal;
let b: RegisteredTerminal;
let posA: PosTerminal;
let posB: PosTerminal;
let phones = 0;
let rawStan = 700_000;

function networkLine(): NetworkClient {
  const address = system.network.server.address()!;
  const client = createTcpNetworkClient({ host: address.host, port: address.port });
  clients.push(client);
  return client;
}

async function newCard(balanceFen = 100_000): Promise<CardPersonalization & { atcNext: () => number }> {
  phones += 1;
  const pan = await issueCard(system, {
    bank: 'CCB', name: '李四', idNumber: residentIdFor('1985-05-05'), phone: `1390000${String(phones).padStart(4, '0')}`, balanceFen,
  });
  const card = await system.bankAuthorization.personalizer.personalize(pan, { pin: '123456' });
  let atc = card.atc;
  return { ...card, atcNext: () => ++atc };
}

const times = () => {
  const iso = system.clock.now().toISOString();
  const mmdd = iso.slice(5, 7) + iso.slice(8, 10);
  const hhmmss = iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
  return { f7: mmdd + hhmmss, f12: hhmmss, f13: mmdd };
};

/** A genuine tap's request (a valid ARQC under the card's next ATC), as terminal `t` would send it, without a MAC. */
async function tapRequest(card: Awaited<ReturnType<typeof newCard>>, t: RegisteredTerminal, mti = '0200', amountFen = 500n): Promise<Iso8583Message> {
  const read = await readContactlessCard(new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }), {
    amountFen, type: 'purchase', now: system.clock.now(), terminalId: t.terminalId,
  });
  const { f7, f12, f13 } = times();
  return {
    mti,
    fields: {
      2: read.pan, 3: '000000', 4: String(amountFen).padStart(12, '0'), 7: f7, 11: String(++rawStan), 12: f12, 13: f13, 14: read.expiryYymm,
      22: '072', 23: `0${read.panSequence}`, 25: '00', 41: t.terminalId, 42: t.merchantId, 49: '156', 55: read.iccData,
    },
  };
}

function reversalOf(original: { mti: string; stan: string; f7: string }, t: RegisteredTerminal, pan: string, amountFen = 500n): Iso8583Message {
  const { f7, f12, f13 } = times();
  return {
    mti: '0400',
    fields: {
      2: pan, 3: '000000', 4: String(amountFen).padStart(12, '0'), 7: f7, 11: String(++rawStan), 12: f12, 13: f13, 25: '00', 41: t.terminalId,
      42: t.merchantId, 49: '156', 90: `${original.mti}${original.stan}${original.f7}${'0'.repeat(22)}`,
    },
  };
}

function refundOf(rrn: string, t: RegisteredTerminal, pan: string, amountFen = 500n): Iso8583Message {
  const { f7, f12, f13 } = times();
  return {
    mti: '0200',
    fields: {
      2: pan, 3: '200000', 4: String(amountFen).padStart(12, '0'), 7: f7, 11: String(++rawStan), 12: f12, 13: f13, 22: '072', 25: '00',
      41: t.terminalId, 42: t.merchantId, 49: '156', 61: rrn,
    },
  };
}

/** Everything an attack could have changed: the card's balance and hold, and the rows of both logs. */
async function snapshot(pan: string): Promise<Record<string, unknown>> {
  const count = async (table: string) => (await sql<{ n: number }>`select count(*)::int as n from ${sql.raw(table)}`.execute(system.database.root)).rows[0]!.n;
  const card = await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen').where('pan', '=', pan).executeTakeFirstOrThrow();
  const reversals = await sql<{ n: number }>`select count(*)::int as n from network.transactions where reversal_status <> 'none'`.execute(system.database.root);
  return {
    balanceFen: card.balance_fen, heldFen: await system.bankAuthorization.personalizer.heldFen(pan), networkRows: await count('network.transactions'),
    bankRows: await count('bank.authorization_messages'), networkReversals: reversals.rows[0]!.n,
  };
}

const code = (answer: Iso8583Message) => [answer.fields[39], answer.fields[44]];

before(async () => {
  system = await startTestSystem({ networkBankTimeoutMs: 1_500 });
  raw = networkLine();
  const bankAddress = system.bankAuthorization.endpoint.address()!;
  bankRaw = createTcpBankIso8583Client({ host: bankAddress.host, port: bankAddress.port });
  a = await system.network.registerTerminal({ terminalId: 'POSA0001', merchantId: '898110000000101', merchantName: 'SHOP A', mcc: '5732' });
  b = await system.network.registerTerminal({ terminalId: 'POSB0001', merchantId: '898110000000102', merchantName: 'SHOP B', mcc: '5812' });
  posA = new PosTerminal({ ...a, network: networkLine(), networkTimeoutMs: 10_000, clock: system.clock.now });
  posB = new PosTerminal({ ...b, network: networkLine(), networkTimeoutMs: 10_000, clock: system.clock.now });
});

after(async () => {
  for (const client of clients) await client.close();
  await bankRaw.close();
  await system.close();
});

describe('the network port: only a registered terminal\'s MACed messages move money', () => {
  it('refuses a forged sale, hold, refund and reversal without a MAC, with a wrong MAC or as another terminal, and changes nothing', async () => {
    const card = await newCard();
    const sale = await posA.charge({ amountFen: 1_000n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) });
    assert.equal(sale.responseCode, '00');
    const before = await snapshot(card.pan);

    const forged = await tapRequest(card, a);
    assert.deepEqual(code(await raw.send(forged, 5_000)), ['A0', 'MAC'], 'no MAC');
    assert.deepEqual(code(await raw.send(withMessageMac(randomBytes(16), forged), 5_000)), ['A0', 'MAC'], 'a MAC under another key');
    assert.deepEqual(code(await posB.line.send(forged, 5_000)), ['A0', 'MAC'], 'MACed by terminal B, claiming to be A');
    assert.deepEqual(code(await posB.line.send({ ...forged, fields: { ...forged.fields, 41: b.terminalId } }, 5_000))[0], '03', 'B with A\'s merchant');
    assert.deepEqual(code(await raw.send({ ...(await tapRequest(card, a, '0100')) }, 5_000)), ['A0', 'MAC'], 'a hold');
    assert.deepEqual(code(await raw.send(refundOf(sale.rrn!, a, card.pan), 5_000)), ['A0', 'MAC'], 'a refund');
    assert.deepEqual(code(await posB.line.send(refundOf(sale.rrn!, b, card.pan), 5_000)), ['25', 'NO_ORIGINAL'], 'a refund of another terminal\'s sale');
    const original = { mti: '0200', stan: sale.stan, f7: times().f7 };
    assert.deepEqual(code(await raw.send(reversalOf(original, a, card.pan, 1_000n), 5_000)), ['A0', 'MAC'], 'a reversal');
    assert.deepEqual(code(await posB.line.send(reversalOf(original, b, card.pan, 1_000n), 5_000)), ['25', 'NO_ORIGINAL'], 'B reversing A\'s sale');

    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await snapshot(card.pan), before);
  });

  it('refuses pre-emptive 0400s for another terminal\'s next STANs; a terminal\'s 0400 for a STAN it never used is 25 and blocks nothing', async () => {
    const card = await newCard();
    const before = await snapshot(card.pan);
    const stanOf = (n: number) => String(n).padStart(6, '0');
    const nextA = posA.lastStan + 1;
    const nextB = posB.lastStan + 1;
    const f7 = times().f7;
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(code(await raw.send(reversalOf({ mti: '0200', stan: stanOf(nextA + i), f7 }, a, card.pan), 5_000)), ['A0', 'MAC']);
      assert.deepEqual(code(await posB.line.send(reversalOf({ mti: '0200', stan: stanOf(nextB + i), f7 }, b, card.pan), 5_000)), ['25', 'NO_ORIGINAL']);
    }
    assert.deepEqual(await snapshot(card.pan), before);
    const saleA = await posA.charge({ amountFen: 500n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) });
    const saleB = await posB.charge({ amountFen: 500n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) });
    assert.deepEqual([saleA.stan, saleA.responseCode, saleB.stan, saleB.responseCode], [stanOf(nextA), '00', stanOf(nextB), '00']);
  });

  it('does not believe TSPV from a terminal: field 60 is the network\'s own, so a chipless contactless sale is refused (30 NO_ICC)', async () => {
    const card = await newCard();
    const tap = await tapRequest(card, a);
    const answer = await posA.line.send({ ...tap, fields: { ...tap.fields, 55: undefined, 60: 'TSPV' } }, 5_000);
    assert.deepEqual(code(answer), ['30', 'NO_ICC']);
    const after = await snapshot(card.pan);
    assert.deepEqual([after.balanceFen, after.heldFen], [100_000n, 0n]);
  });

  it('a keyed-in card number needs the card\'s expiry and its CVN2; magnetic stripe and fallback are refused', async () => {
    const card = await newCard();
    const cvn2 = printedCvn2(system.keyring.key('bank.ccb.cvk', 16), card.pan, card.expiryYymm);
    const wrong = String((Number(cvn2) + 1) % 1_000).padStart(3, '0');
    const keyed = (fields: Record<number, string | undefined>): Iso8583Message => {
      const { f7, f12, f13 } = times();
      return {
        mti: '0200',
        fields: {
          2: card.pan, 3: '000000', 4: '000000000700', 7: f7, 11: String(++rawStan), 12: f12, 13: f13, 14: card.expiryYymm, 22: '012', 25: '00',
          41: a.terminalId, 42: a.merchantId, 49: '156', ...fields,
        },
      };
    };
    const before = await snapshot(card.pan);
    assert.deepEqual(code(await posA.line.send(keyed({}), 5_000)), ['05', 'NO_CVN2']);
    assert.deepEqual(code(await posA.line.send(keyed({ 48: wrong }), 5_000)), ['05', 'CVN2']);
    assert.deepEqual(code(await posA.line.send(keyed({ 48: cvn2, 14: '3001' }), 5_000)), ['05', 'EXPIRY']);
    assert.deepEqual(code(await posA.line.send(keyed({ 48: cvn2, 22: '022' }), 5_000)), ['12', 'ENTRY_MODE'], 'magnetic stripe');
    assert.deepEqual(code(await posA.line.send(keyed({ 48: cvn2, 22: '802' }), 5_000)), ['12', 'ENTRY_MODE'], 'fallback to stripe');
    const after = await snapshot(card.pan);
    assert.deepEqual([after.balanceFen, after.heldFen], [before.balanceFen, before.heldFen], 'no money moved');
    assert.equal(code(await posA.line.send(keyed({ 48: cvn2 }), 5_000))[0], '00', 'the right expiry and CVN2');
    assert.equal((await snapshot(card.pan)).balanceFen, 100_000n - 700n);
  });
});

describe('the bank\'s ISO port: only the network\'s zone-MACed messages are looked at', () => {
  it('refuses a forged sale, hold, TSPV sale, refund and reversal sent straight to the bank, and changes nothing', async () => {
    const card = await newCard();
    const sale = await posA.charge({ amountFen: 1_000n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) });
    assert.equal(sale.responseCode, '00');
    const before = await snapshot(card.pan);
    const asNetwork = (message: Iso8583Message): Iso8583Message => ({
      ...message, fields: { ...message.fields, 32: '49990000', 33: '49990000', 37: String(++rawStan).padStart(12, '0') },
    });
    const tap = asNetwork(await tapRequest(card, a));
    assert.deepEqual(code(await bankRaw.send(tap, 5_000)), ['A0', 'MAC'], 'a genuine cryptogram, no zone MAC');
    assert.deepEqual(code(await bankRaw.send(withMessageMac(randomBytes(16), tap), 5_000)), ['A0', 'MAC'], 'another key');
    assert.deepEqual(code(await bankRaw.send(withMessageMac(randomBytes(16), { ...tap, mti: '0100' }), 5_000)), ['A0', 'MAC'], 'a hold');
    const tspv = { ...tap, fields: { ...tap.fields, 55: undefined, 60: 'TSPV', 11: String(++rawStan) } };
    assert.deepEqual(code(await bankRaw.send(tspv, 5_000)), ['A0', 'MAC'], 'TSPV from a peer that is not the network');
    assert.deepEqual(code(await bankRaw.send(asNetwork(refundOf(sale.rrn!, a, card.pan)), 5_000)), ['A0', 'MAC'], 'a refund');
    const reversal = asNetwork(reversalOf({ mti: '0200', stan: String(rawStan).padStart(6, '0'), f7: times().f7 }, a, card.pan, 1_000n));
    assert.deepEqual(code(await bankRaw.send(reversal, 5_000)), ['A0', 'MAC'], 'a reversal');
    assert.deepEqual(await snapshot(card.pan), before);
  });
});

describe('working keys', () => {
  it('a forged sign-on changes no key; a roll on demand retires the old TAK (A0) and the POS signs on again by itself', async () => {
    const card = await newCard();
    const generation = async () => (await system.database.forSchema<any>('network').selectFrom('terminals').select('key_generation')
      .where('terminal_id', '=', a.terminalId).executeTakeFirstOrThrow()).key_generation as number;
    assert.equal((await posA.charge({ amountFen: 100n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) })).responseCode, '00');
    const start = await generation();
    const { f7 } = times();
    const signOn: Iso8583Message = { mti: '0800', fields: { 7: f7, 11: String(++rawStan), 41: a.terminalId, 42: a.merchantId, 70: '001' } };
    assert.deepEqual(code(await raw.send(signOn, 5_000)), ['A0', 'MAC'], 'no MAC');
    assert.deepEqual(code(await raw.send(withMessageMac(randomBytes(16), signOn), 5_000)), ['A0', 'MAC'], 'not under the TMK');
    assert.equal(await generation(), start);

    const stale = posA.line.authenticated(refundOf('000000000001', a, card.pan))!;
    await system.network.terminals.retireWorkingKeys(a.terminalId);
    const before = await snapshot(card.pan);
    assert.deepEqual(code(await raw.send(stale, 5_000)), ['A0', 'SIGN_ON']);
    assert.deepEqual(await snapshot(card.pan), before);
    assert.equal((await posA.charge({ amountFen: 100n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) })).responseCode, '00');
    assert.equal(await generation(), start + 1);
    assert.deepEqual(code(await raw.send(stale, 5_000)), ['A0', 'MAC'], 'MACed with a retired key');
  });

  it('refuses a replayed sign-on (same or older STAN, or field 7 outside ±5 minutes) with A0, and changes no key', async () => {
    const c = await system.network.registerTerminal({ terminalId: 'POSREPLY', merchantId: '898110000000099', merchantName: 'REPLAY', mcc: '5812' });
    const keysOf = async () => await system.database.forSchema<any>('network').selectFrom('terminals')
      .select(['key_generation', 'tak_wrapped', 'sign_on_stan']).where('terminal_id', '=', c.terminalId).executeTakeFirstOrThrow();
    const signOn = (stan: string, f7 = times().f7) => withMessageMac(signOnMacKey(c.terminalMasterKey), {
      mti: '0800', fields: { 7: f7, 11: stan, 41: c.terminalId, 42: c.merchantId, 70: '001' },
    });
    const captured = signOn('000100');
    assert.deepEqual(code(await raw.send(captured, 5_000)), ['00', undefined], 'the genuine sign-on');
    const signedOn = await keysOf();
    assert.equal(signedOn.sign_on_stan, '000100');
    assert.deepEqual(code(await raw.send(captured, 5_000)), ['A0', 'REPLAY'], 'the same 0800 again');
    assert.deepEqual(code(await raw.send(signOn('000099'), 5_000)), ['A0', 'REPLAY'], 'an older STAN, freshly timed');
    const sixMinutesAgo = new Date(system.clock.now().getTime() - 6 * 60_000).toISOString();
    const oldF7 = sixMinutesAgo.slice(5, 7) + sixMinutesAgo.slice(8, 10) + sixMinutesAgo.slice(11, 13) + sixMinutesAgo.slice(14, 16) + sixMinutesAgo.slice(17, 19);
    assert.deepEqual(code(await raw.send(signOn('000101', oldF7), 5_000)), ['A0', 'STALE'], 'a newer STAN sent six minutes ago');
    assert.deepEqual(code(await raw.send(signOn('000102', '1332250000'), 5_000)), ['A0', 'STALE'], 'an impossible field 7');
    system.clock.advance(6 * 60_000);
    assert.deepEqual(code(await raw.send(captured, 5_000)), ['A0', 'STALE'], 'the captured 0800 later');
    assert.deepEqual(await keysOf(), signedOn, 'no refused sign-on changed a key');
    assert.deepEqual(code(await raw.send(signOn('000103'), 5_000)), ['00', undefined], 'the terminal\'s next real sign-on');
    assert.equal((await keysOf()).key_generation, signedOn.key_generation + 1);
  });

  it('the POS answers a tampered answer (bad MAC) by reversing the sale', async () => {
    const card = await newCard();
    const upstream = networkLine();
    // A man in the middle that changes the approval code of every 0210 on its way to the POS.
    const proxy: Iso8583Server = createIso8583Server({
      name: 'tampering-proxy', logger: silentLogger, spec: TERMINAL_SPEC,
      handler: async (request) => {
        const answer = await upstream.send(request, 10_000);
        return answer.mti === '0210' ? { ...answer, fields: { ...answer.fields, 38: '999999' } } : answer;
      },
    });
    const proxied = await proxy.listen(0);
    const c = await system.network.registerTerminal({ terminalId: 'POSC0001', merchantId: '898110000000103', merchantName: 'SHOP C', mcc: '5732' });
    const line = createTcpNetworkClient({ host: proxied.host, port: proxied.port });
    clients.push(line);
    const posC = new PosTerminal({ ...c, network: line, networkTimeoutMs: 10_000, clock: system.clock.now });
    const receipt = await posC.charge({ amountFen: 4_000n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) });
    assert.equal(receipt.responseCode, 'A0');
    assert.equal(receipt.approved, false);
    const deadline = Date.now() + 10_000;
    while ((await snapshot(card.pan)).balanceFen !== 100_000n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await snapshot(card.pan)).balanceFen, 100_000n, 'the sale was reversed');
    await proxy.close();
  });

  it('refuses working keys past their lifetime (A0 KEYS_EXPIRED); a POS rolls its keys (0800, 101) before that', async () => {
    const card = await newCard();
    // Another POS for terminal b: its STAN counter continues b's (a sign-on's STAN must be newer than the last one's).
    const lazy = new PosTerminal({
      ...b, network: networkLine(), networkTimeoutMs: 10_000, clock: system.clock.now, keyRollMs: 48 * 3_600_000, lastStan: posB.lastStan,
    });
    await lazy.signOn();
    system.clock.advance(25 * 3_600_000);
    const before = await snapshot(card.pan);
    assert.deepEqual(code(await raw.send(lazy.line.authenticated(await tapRequest(card, b))!, 5_000)), ['A0', 'KEYS_EXPIRED']);
    assert.deepEqual(await snapshot(card.pan), before);
    // posA rolls on its own 12 h schedule before it sends; `lazy` signs on again after its A0.
    assert.equal((await posA.charge({ amountFen: 100n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) })).responseCode, '00');
    assert.equal((await lazy.charge({ amountFen: 100n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) })).responseCode, '00');
  });
});

describe('connections', () => {
  it('300 idle sockets on the network port do not lock out a real POS', async () => {
    const address = system.network.server.address()!;
    let closedByServer = 0;
    const sockets = await Promise.all(Array.from({ length: 300 }, () => new Promise<net.Socket>((resolve) => {
      const socket = net.connect({ host: address.host, port: address.port });
      socket.on('error', () => undefined);
      socket.once('close', () => {
        closedByServer += 1;
      });
      socket.once('connect', () => resolve(socket));
    })));
    const card = await newCard();
    const pos = new PosTerminal({ ...(await system.network.registerTerminal({ terminalId: 'POSD0001', merchantId: '898110000000104', merchantName: 'SHOP D', mcc: '5732' })), network: networkLine(), networkTimeoutMs: 10_000, clock: system.clock.now });
    const receipt = await pos.charge({ amountFen: 300n, card: new ContactlessCardEmulator({ ...card, atc: card.atcNext() - 1 }) });
    assert.equal(receipt.responseCode, '00');
    assert.ok(closedByServer >= 300 - 64, `${closedByServer} silent sockets closed to make room`);
    for (const socket of sockets) socket.destroy();
  });
});
