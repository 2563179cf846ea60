// Device card payments end to end over real TCP on 127.0.0.1: the phone's payment applet (the
// qPBOC application with limited-use keys from provisioning) → POS kernel → ISO 8583 → network
// switch → the platform's TSP (detokenize, ARQC under LUK(ATC), ATC window and replay, token
// domain) → ISO 8583 with the PAN and field 60 TSPV → the issuing bank, and back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  apiClient, openPaymentAccount, provisionDeviceCard, registerDevice, replenishKeys, startTestSystem, type AccountHolder, type TestSystem,
} from '../../cli/test-system.ts';
import { cardNumberAtRest, cardNumberHash, tokenAtRest } from '../../network/card-number.ts';
import { storedCardNumbers } from '../../network/card-number-scan.ts';
import { createTcpNetworkClient, type NetworkClient } from '../../network/client.ts';
import { generateArpcMethod1 } from '../../protocols/crypto/index.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { decodeTlv, flattenTlv } from '../../protocols/tlv.ts';
import { formatReceipt, PosTerminal, readContactlessCard } from '../../terminal/party.ts';
import { limitedUseKey, tokenMasterKey } from './keys.ts';
import { lukBatchLifetimeMs } from './service.ts';
import { TestDeviceCard, type ProvisionedDeviceCard } from '../../platform/tokens/test-device-card.ts';

let system: TestSystem;
let network: NetworkClient;
let pos: PosTerminal;
/** Every request the POS sent and the answer it got, so a test can replay one. */
const exchanges: { request: Iso8583Message; answer: Iso8583Message }[] = [];
let rawStan = 800_000;
/** Every wallet made, so the last test can look for their numbers in the logs. */
const wallets: Wallet[] = [];

before(async () => {
  system = await startTestSystem({ networkBankTimeoutMs: 2_000 });
  const address = system.network.server.address()!;
  network = createTcpNetworkClient({ host: address.host, port: address.port });
  const recording: NetworkClient = {
    async send(request, timeoutMs) {
      const answer = await network.send(request, timeoutMs);
      // Sign-ons (0800) are the line's business, not the payments this file looks at.
      if (request.mti !== '0800') exchanges.push({ request, answer });
      return answer;
    },
    close: async () => undefined,
  };
  const terminal = await system.network.registerTerminal({ terminalId: 'POSTOKEN', merchantId: '898110000000077', merchantName: 'MI HOME WUHAN', mcc: '5732' });
  pos = new PosTerminal({ ...terminal, network: recording, networkTimeoutMs: 10_000, clock: system.clock.now });
});

after(async () => {
  await network.close();
  await system.close();
});

interface Wallet {
  holder: AccountHolder;
  deviceId: string;
  deviceCardId: string;
  tokenNumber: string;
  provisioned: ProvisionedDeviceCard;
  phone: TestDeviceCard;
}

/** Sign up, open the payment account with a CCB debit card, register a phone, add the card to it. */
async function walletWithDeviceCard(): Promise<Wallet> {
  const holder = await openPaymentAccount(system, { bank: 'CCB', balanceFen: 500_000 });
  const deviceId = await registerDevice(system, holder.token);
  const made = await provisionDeviceCard(system, holder, deviceId, holder.cardId);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const wallet = { holder, deviceId, deviceCardId: made.body.device_card.id, tokenNumber: made.body.token_number, provisioned: made.body, phone: new TestDeviceCard(made.body) };
  wallets.push(wallet);
  return wallet;
}

async function balanceOf(pan: string): Promise<bigint> {
  const row = await system.database.forSchema<any>('bank').selectFrom('card_accounts').select('balance_fen').where('pan', '=', pan).executeTakeFirstOrThrow();
  return row.balance_fen as bigint;
}

/** A request as a terminal would build it from a tap, with the entry mode and processing code the test wants. */
async function rawRequest(card: TestDeviceCard, options: { amountFen: bigint; entryMode: string; processingCode: string; type: 'purchase' | 'refund'; originalRrn?: string }): Promise<Iso8583Message> {
  const now = system.clock.now();
  const read = await readContactlessCard(card, { amountFen: options.amountFen, type: options.type, now, terminalId: 'POSTOKEN' });
  const iso = now.toISOString();
  const mmdd = iso.slice(5, 7) + iso.slice(8, 10);
  const hhmmss = iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
  rawStan += 1;
  return {
    mti: '0200',
    fields: {
      2: read.pan, 3: options.processingCode, 4: String(options.amountFen).padStart(12, '0'), 7: mmdd + hhmmss, 11: String(rawStan), 12: hhmmss, 13: mmdd,
      14: read.expiryYymm, 22: options.entryMode, 23: `0${read.panSequence}`, 25: '00', 41: 'POSTOKEN', 42: '898110000000077', 49: '156', 55: read.iccData,
      61: options.originalRrn,
    },
  };
}

const tlvOf = (field: unknown) => flattenTlv(decodeTlv(field as Buffer));

describe('device card payments through the TSP', () => {
  it('approves a tap (CDCVM, no PIN even above ¥1,000), debits the card account once, prints the token\'s last 4, and answers an ARPC whose ARC is the bank\'s code', async () => {
    const w = await walletWithDeviceCard();
    const pan = w.holder.cardNumber;
    assert.notEqual(w.tokenNumber.slice(-4), pan.slice(-4));
    const before = await balanceOf(pan);

    const receipt = await pos.charge({ amountFen: 2_350n, card: w.phone });
    assert.deepEqual([receipt.responseCode, receipt.approved, receipt.cvm], ['00', true, 'cdcvm']);
    assert.match(receipt.authCode ?? '', /^[0-9]{6}$/);
    assert.equal(receipt.cardLast4, w.tokenNumber.slice(-4));
    const text = formatReceipt(receipt);
    assert.ok(text.includes(`**** ${w.tokenNumber.slice(-4)}`) && !text.includes(pan.slice(-4)), 'the receipt shows the device card\'s last 4, not the card\'s');
    assert.equal(await balanceOf(pan), before - 2_350n);

    // Field 55 of the answer: 91 = ARPC (method 1, under LUK(ATC)) ‖ ARC, the ARC being the bank's response code.
    const { request, answer } = exchanges.at(-1)!;
    assert.equal(answer.fields[2], w.tokenNumber, 'the terminal hears back the token, never the PAN');
    const sent = tlvOf(request.fields[55]);
    const atc = sent.get('9F36')!.readUInt16BE(0);
    assert.equal(atc, 1);
    const luk = Buffer.from(w.provisioned.luk_batch.keys.find((k) => k.atc === atc)!.key, 'hex');
    const arpcAndArc = tlvOf(answer.fields[55]).get('91')!;
    assert.deepEqual(arpcAndArc, Buffer.concat([generateArpcMethod1('tdes', luk, sent.get('9F26')!, Buffer.from('00')), Buffer.from('00')]));

    // Above the no-PIN limit the fingerprint (CDCVM) stands for the PIN; the bank's decline comes back with its own ARC.
    const large = await pos.charge({ amountFen: 150_000n, card: w.phone });
    assert.deepEqual([large.responseCode, large.cvm], ['00', 'cdcvm']);
    const tooMuch = await pos.charge({ amountFen: 400_000n, card: w.phone });
    assert.equal(tooMuch.responseCode, '51');
    assert.deepEqual(tlvOf(exchanges.at(-1)!.answer.fields[55]).get('91')!.subarray(8), Buffer.from('51'));
    assert.equal(await balanceOf(pan), before - 2_350n - 150_000n);

    // The network's log keeps the token's hash with the row, and of the PAN only first 6, last 4 and a keyed hash.
    const hash = (number: string) => cardNumberHash({ hashKey: system.keyring.key('network.pan-hash', 32), sealKey: Buffer.alloc(0) }, number);
    const rows = await system.database.forSchema<any>('network').selectFrom('transactions').selectAll()
      .where('token_hash', '=', hash(w.tokenNumber)).orderBy('id').execute();
    assert.deepEqual(rows.map((r) => r.response_code), ['00', '00', '51']);
    for (const row of rows) {
      assert.deepEqual([row.pan_first6, row.pan_last4, row.pan_hash, row.token_last4], [pan.slice(0, 6), pan.slice(-4), hash(pan), w.tokenNumber.slice(-4)],
        'the network routes and clears by the PAN');
      assert.equal(row.response_fields.includes(pan), false);
      assert.equal(JSON.parse(row.response_fields)['2'], undefined, 'the stored answer holds no card number at all');
    }
    assert.deepEqual(await storedCardNumbers(system.database.root, 'network', [pan, w.tokenNumber]), [],
      'no full card or token number in any network table after device card taps');
  });

  it('reverses a device card tap whose answer the network never recorded: the token service names the card for the reversal', async () => {
    const w = await walletWithDeviceCard();
    const pan = w.holder.cardNumber;
    const before = await balanceOf(pan);
    const sale = await pos.charge({ amountFen: 2_000n, card: w.phone });
    assert.equal(sale.responseCode, '00');
    // What a crash after forwarding leaves: the request logged under the token, pending, no route, no answer.
    const log = system.database.forSchema<any>('network');
    const keys = { hashKey: system.keyring.key('network.pan-hash', 32), sealKey: system.keyring.key('network.pan-seal', 32) };
    const mine = (q: any) => q.where('id', '=', BigInt(sale.rrn!));
    await mine(log.updateTable('transactions').set({
      status: 'pending', ...cardNumberAtRest(keys, w.tokenNumber), ...tokenAtRest(keys, null),
      issuer_code: null, response_code: null, response_fields: null, auth_code: null,
    })).execute();
    system.clock.advance(2 * 2_000 + 6_000);
    // The issuer puts the money back before it acknowledges, and the network records the acknowledgement after: wait for both.
    const reversalStatus = async () => (await mine(log.selectFrom('transactions').select('reversal_status')).executeTakeFirst())?.reversal_status;
    const deadline = Date.now() + 10_000;
    while ((await balanceOf(pan) !== before || await reversalStatus() !== 'done') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await balanceOf(pan), before, 'reversed at the issuer with the card number behind the token');
    const row = await mine(log.selectFrom('transactions').selectAll()).executeTakeFirstOrThrow();
    assert.deepEqual([row.status, row.pan_hash, row.token_hash, row.issuer_code, row.reversal_status],
      ['timed_out', cardNumberHash(keys, pan), cardNumberHash(keys, w.tokenNumber), 'CCB', 'done']);
    assert.deepEqual([row.pan_sealed, row.token_sealed], [null, null], 'once reversed, the sealed numbers are gone');
  });

  it('declines a replayed cryptogram (the same field 55 under a new STAN, or two copies racing), an ATC outside every key batch and a forged ARQC; debits only the genuine taps', async () => {
    const w = await walletWithDeviceCard();
    const pan = w.holder.cardNumber;
    assert.equal((await pos.charge({ amountFen: 1_000n, card: w.phone })).responseCode, '00');
    const before = await balanceOf(pan);
    const { request } = exchanges.at(-1)!;
    rawStan += 1;
    const replayed = await pos.line.send({ ...request, fields: { ...request.fields, 11: String(rawStan) } }, 10_000);
    assert.deepEqual([replayed.fields[39], replayed.fields[44], replayed.fields[55]], ['05', 'ATC_REPLAYED', undefined]);
    // Two copies of one tap racing in under different STANs (two terminals' worth): one is approved.
    const tap = await rawRequest(w.phone, { amountFen: 700n, entryMode: '072', processingCode: '000000', type: 'purchase' });
    rawStan += 1;
    const copies = await Promise.all([pos.line.send(tap, 10_000), pos.line.send({ ...tap, fields: { ...tap.fields, 11: String(rawStan) } }, 10_000)]);
    assert.deepEqual(copies.map((a) => `${a.fields[39]} ${a.fields[44] ?? ''}`.trim()).sort(), ['00', '05 ATC_REPLAYED']);

    // A key for ATC 500, correctly derived but never issued in a batch: the window refuses it.
    const masterKey = tokenMasterKey(system.tsp.keys, w.tokenNumber, w.provisioned.token_sequence);
    const outside = new TestDeviceCard({ ...w.provisioned, luk_batch: { ...w.provisioned.luk_batch, keys: [{ atc: 500, key: limitedUseKey(masterKey, 500).toString('hex') }] } });
    const refused = await pos.charge({ amountFen: 1_000n, card: outside });
    assert.equal(refused.responseCode, '05');
    assert.equal(exchanges.at(-1)!.answer.fields[44], 'ATC_NOT_IN_BATCH');
    // A key of another card's batch: the ATC is in this card's window but the cryptogram is wrong.
    const forged = new TestDeviceCard({ ...w.provisioned, luk_batch: { ...w.provisioned.luk_batch, keys: [{ atc: 5, key: '00112233445566778899AABBCCDDEEFF' }] } });
    assert.equal((await pos.charge({ amountFen: 1_000n, card: forged })).responseCode, '05');
    assert.equal(exchanges.at(-1)!.answer.fields[44], 'BAD_ARQC');
    // The forged tap did not burn ATC 5: the phone's own key for it still pays.
    const real = new TestDeviceCard({ ...w.provisioned, luk_batch: { ...w.provisioned.luk_batch, keys: w.provisioned.luk_batch.keys.filter((k) => k.atc === 5) } });
    assert.equal((await pos.charge({ amountFen: 1_000n, card: real })).responseCode, '00');
    assert.equal(await balanceOf(pan), before - 700n - 1_000n);
  });

  it('declines taps from an expired key batch; keys replenished online pay again; spent ATCs of expired batches are pruned', async () => {
    const w = await walletWithDeviceCard();
    const spentAtcs = async () => (await system.database.forSchema<any>('tsp').selectFrom('token_atc_uses').select('atc')
      .where('token_ref_id', '=', (eb: any) => eb.selectFrom('tokens').select('token_ref_id').where('wallet_card_id', '=', w.deviceCardId))
      .orderBy('atc').execute()).map((r: { atc: number }) => r.atc);
    assert.equal((await pos.charge({ amountFen: 500n, card: w.phone })).responseCode, '00');
    assert.deepEqual(await spentAtcs(), [1]);
    assert.equal(await system.tsp.service.pruneSpentAtcs(), 0, 'a live batch keeps its spent ATCs');
    system.clock.advance(lukBatchLifetimeMs + 60_000);
    const expired = await pos.charge({ amountFen: 500n, card: w.phone });
    assert.equal(expired.responseCode, '05');
    assert.equal(exchanges.at(-1)!.answer.fields[44], 'LUK_EXPIRED');
    const replenished = await replenishKeys(system, w.holder.token, w.deviceId, w.deviceCardId, { count: 3 });
    assert.equal(replenished.status, 201, JSON.stringify(replenished.body));
    const phone = new TestDeviceCard({ ...w.provisioned, luk_batch: replenished.body });
    assert.equal((await pos.charge({ amountFen: 500n, card: phone })).responseCode, '00');
    const fresh = replenished.body.atc_first;
    assert.deepEqual(await spentAtcs(), [1, fresh]);
    assert.ok(await system.tsp.service.pruneSpentAtcs() >= 1);
    assert.deepEqual(await spentAtcs(), [fresh], 'only the expired batch\'s ATC went');
    // Pruned is not forgotten: the expired batch's ATC is still refused, by its batch.
    const again = new TestDeviceCard({ ...w.provisioned, luk_batch: { ...w.provisioned.luk_batch, keys: w.provisioned.luk_batch.keys.filter((k) => k.atc === 1) } });
    assert.equal((await pos.charge({ amountFen: 500n, card: again })).responseCode, '05');
    assert.equal(exchanges.at(-1)!.answer.fields[44], 'LUK_EXPIRED');
  });

  it('caps unspent key batches at 5 but supersedes a batch once the TSP has seen every one of its ATCs, so a phone that pays keeps getting keys', async () => {
    const api = apiClient(system.platform.app);
    const w = await walletWithDeviceCard();
    const replenish = () => replenishKeys(system, w.holder.token, w.deviceId, w.deviceCardId, { count: 2 });
    const batches: { atc_first: number; keys: { atc: number; key: string }[] }[] = [];
    for (let i = 0; i < 4; i++) {
      const issued = await replenish();
      assert.equal(issued.status, 201, JSON.stringify(issued.body));
      batches.push(issued.body);
    }
    const refused = await replenish();
    assert.deepEqual([refused.status, refused.body.error.code], [429, 'rate_limited'], 'the provisioning batch and four more are live');
    const phoneWith = (batch: (typeof batches)[number], atcs: number[]) =>
      new TestDeviceCard({ ...w.provisioned, luk_batch: { ...w.provisioned.luk_batch, ...batch, keys: batch.keys.filter((k) => atcs.includes(k.atc)) } });

    // Half a batch spent is not enough; the whole batch spent frees its place.
    const [first, second] = [batches[0]!, batches[1]!];
    assert.equal((await pos.charge({ amountFen: 300n, card: phoneWith(first, [first.atc_first]) })).responseCode, '00');
    assert.equal((await replenish()).status, 429);
    assert.equal((await pos.charge({ amountFen: 300n, card: phoneWith(first, [first.atc_first + 1]) })).responseCode, '00');
    const fresh = await replenish();
    assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
    assert.equal((await replenish()).status, 429, 'one spent batch made room for one');

    // The superseded batch's ATCs stay refused, by their batch, and leave the replay table.
    assert.equal((await pos.charge({ amountFen: 300n, card: phoneWith(first, [first.atc_first]) })).responseCode, '05');
    assert.equal(exchanges.at(-1)!.answer.fields[44], 'LUK_RETIRED');
    assert.ok(await system.tsp.service.pruneSpentAtcs() >= 2);
    // The other batches still pay.
    assert.equal((await pos.charge({ amountFen: 300n, card: phoneWith(second, [second.atc_first + 1]) })).responseCode, '00');
    assert.equal((await pos.charge({ amountFen: 300n, card: phoneWith(fresh.body, [fresh.body.atc_first]) })).responseCode, '00');
  });

  it('pre-authorizes with a tap and completes without one: the completion goes to the card\'s bank, the terminal hears only the token', async () => {
    const w = await walletWithDeviceCard();
    const pan = w.holder.cardNumber;
    const before = await balanceOf(pan);
    const hold = await pos.charge({ amountFen: 20_000n, card: w.phone, mode: 'authorization' });
    assert.deepEqual([hold.responseCode, hold.cvm], ['00', 'cdcvm']);
    const done = await pos.complete({ amountFen: 18_800n, originalRrn: hold.rrn! });
    assert.deepEqual([done.responseCode, done.cardLast4], ['00', w.tokenNumber.slice(-4)]);
    assert.equal(exchanges.at(-1)!.answer.fields[2], w.tokenNumber, 'the answer names the token, never the PAN');
    assert.equal(await balanceOf(pan), before - 18_800n);
    const row = await system.database.forSchema<any>('network').selectFrom('transactions').select(['kind', 'pan_last4', 'token_last4'])
      .where('id', '=', BigInt(done.rrn!)).executeTakeFirstOrThrow();
    assert.deepEqual(row, { kind: 'completion', pan_last4: pan.slice(-4), token_last4: w.tokenNumber.slice(-4) });
  });

  it('declines a suspended token, a lost (disabled) phone\'s taps and a card the bank reported lost, each with its own reason', async () => {
    const api = apiClient(system.platform.app);
    const w = await walletWithDeviceCard();
    const pan = w.holder.cardNumber;
    const before = await balanceOf(pan);
    const tap = async () => {
      const receipt = await pos.charge({ amountFen: 800n, card: w.phone });
      return `${receipt.responseCode} ${exchanges.at(-1)!.answer.fields[44] ?? ''}`.trim();
    };

    const sale = await pos.charge({ amountFen: 3_000n, card: w.phone });
    assert.equal(sale.responseCode, '00');
    const refund = async (amountFen: bigint) => {
      const receipt = await pos.refund({ amountFen, originalRrn: sale.rrn!, card: w.phone });
      return `${receipt.responseCode} ${exchanges.at(-1)!.answer.fields[44] ?? ''}`.trim();
    };
    assert.equal((await api('POST', `/v1/device-cards/${w.deviceCardId}/suspend`, { token: w.holder.token })).body.status, 'suspended');
    assert.equal(await tap(), '57 TOKEN_SUSPENDED');
    // A suspended device card still takes money back, as a blocked plastic card does.
    assert.equal(await refund(1_000n), '00');
    assert.equal((await api('POST', `/v1/device-cards/${w.deviceCardId}/resume`, { token: w.holder.token })).body.status, 'active');
    assert.equal(await tap(), '00');

    const bank = await api('POST', '/v1/bank/device-cards/actions', {
      body: { pan, action: 'suspend', reason: 'card_lost' }, headers: { authorization: `Bearer ${system.platformBankKeys.CCB}` },
    });
    assert.equal(bank.body.affected, 1);
    assert.equal(await tap(), '41 CARD_LOST');
    assert.equal(await refund(1_000n), '00', 'the bank credits a card reported lost');
    assert.equal((await api('POST', '/v1/bank/device-cards/actions', {
      body: { pan, action: 'resume', reason: 'card_found' }, headers: { authorization: `Bearer ${system.platformBankKeys.CCB}` },
    })).body.affected, 1);
    assert.equal(await tap(), '00');

    assert.equal((await api('POST', `/v1/devices/${w.deviceId}/disable`, { token: w.holder.token })).body.status, 'disabled');
    assert.equal(await tap(), '41 DEVICE_LOST');
    assert.equal(await refund(500n), '41 DEVICE_LOST', 'a phone reported lost takes nothing: the merchant refunds to the card another way');
    assert.equal(await balanceOf(pan), before - 3_000n + 2_000n - 1_600n, 'the sale, two refunds and the two taps while active moved money, nothing else');

    const unknown = await rawRequest(w.phone, { amountFen: 100n, entryMode: '072', processingCode: '000000', type: 'purchase' });
    const answer = await pos.line.send({ ...unknown, fields: { ...unknown.fields, 2: '6299900000000001' } }, 10_000);
    assert.deepEqual([answer.fields[39], answer.fields[44]], ['14', 'TOKEN_UNKNOWN']);
  });

  it('keeps device cards to contactless POS (token domain) and to the transaction type their cryptogram was made for', async () => {
    const w = await walletWithDeviceCard();
    const before = await balanceOf(w.holder.cardNumber);
    for (const entryMode of ['051', '011', '902']) {
      const answer = await pos.line.send(await rawRequest(w.phone, { amountFen: 300n, entryMode, processingCode: '000000', type: 'purchase' }), 10_000);
      assert.deepEqual([answer.fields[39], answer.fields[44]], ['57', 'TOKEN_DOMAIN'], entryMode);
    }
    // A purchase's cryptogram presented as a refund (of a real sale of this terminal: the network lets only those through).
    const sale = await pos.line.send(await rawRequest(w.phone, { amountFen: 300n, entryMode: '072', processingCode: '000000', type: 'purchase' }), 10_000);
    assert.equal(sale.fields[39], '00');
    const asRefund = await pos.line.send(await rawRequest(w.phone, {
      amountFen: 300n, entryMode: '072', processingCode: '200000', type: 'purchase', originalRrn: String(sale.fields[37]),
    }), 10_000);
    assert.deepEqual([asRefund.fields[39], asRefund.fields[44]], ['05', 'TXN_TYPE']);
    const missing = await rawRequest(w.phone, { amountFen: 300n, entryMode: '072', processingCode: '000000', type: 'purchase' });
    const noIcc = await pos.line.send({ ...missing, fields: { ...missing.fields, 55: undefined } }, 10_000);
    assert.deepEqual([noIcc.fields[39], noIcc.fields[44]], ['30', 'NO_ICC']);
    assert.equal(await balanceOf(w.holder.cardNumber), before - 300n, 'only the sale moved money');
  });

  it('refunds a device card purchase at the POS: the phone taps again (9C = 20) and the bank credits the card account', async () => {
    const w = await walletWithDeviceCard();
    const pan = w.holder.cardNumber;
    const before = await balanceOf(pan);
    const sale = await pos.charge({ amountFen: 10_000n, card: w.phone });
    assert.equal(sale.responseCode, '00');
    const refund = await pos.refund({ amountFen: 4_000n, originalRrn: sale.rrn!, card: w.phone });
    assert.deepEqual([refund.responseCode, refund.kind, refund.cardLast4], ['00', 'refund', w.tokenNumber.slice(-4)]);
    assert.equal(tlvOf(exchanges.at(-1)!.request.fields[55]).get('9C')!.toString('hex'), '20');
    assert.equal(await balanceOf(pan), before - 6_000n);
    const tooMuch = await pos.refund({ amountFen: 6_001n, originalRrn: sale.rrn!, card: w.phone });
    assert.equal(tooMuch.responseCode, '13');
    assert.equal(w.phone.lastAtc, 3, 'each tap spent one limited-use key');

    // The clearing file lists both, the card number masked.
    const businessDate = new Date(system.clock.now().getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
    const file = await system.network.clearingFile(businessDate);
    assert.ok(file.includes(`D,${sale.rrn},`) && file.includes(`D,${refund.rrn},`));
    assert.equal(file.includes(pan), false);
  });

  it('writes no card or token number to any log line', () => {
    const numbers = wallets.flatMap((w) => [w.holder.cardNumber, w.tokenNumber]);
    const leaking = system.logs.filter((line) => numbers.some((n) => line.includes(n)));
    assert.deepEqual(leaking.map((line) => (JSON.parse(line) as { msg?: string }).msg), []);
    assert.ok(system.logs.some((line) => line.includes('device card authorization declined')), 'declines are logged (with the token\'s last 4)');
  });
});
