// Issue 12, item 2: every device-card tap, refund and decline the network sees reaches the
// wallet as a transaction notice and shows in the one history (API, CSV) and on the phone.
// Real TCP from the POS through the network, the TSP and the bank; the phone over HTTP.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { DeviceCardNoticeError } from '../platform/transactions/device-card-notices.ts';
import { formatReceipt, PosTerminal } from '../terminal/party.ts';
import { deviceCardHistory, formatHistoryLine } from './history.ts';
import { platformSchema } from '../platform/party.ts';
import type { PlatformTables } from '../platform/tables.ts';
import { MiPhone } from './phone.ts';

describe('device-card history: tap, refund and decline in the API, the CSV and on the phone', () => {
  let system: TestSystem;
  let network: NetworkClient;
  let pos: PosTerminal;
  let platformUrl: string;
  let dir: string;

  before(async () => {
    system = await startTestSystem();
    platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    const address = system.network.server.address()!;
    network = createTcpNetworkClient({ host: address.host, port: address.port });
    const terminal = await system.network.registerTerminal({ terminalId: 'POSHIST1', merchantId: '898110000000089', merchantName: 'LAWSON PUDONG', mcc: '5411' });
    pos = new PosTerminal({ ...terminal, network, networkTimeoutMs: 10_000, clock: system.clock.now });
    dir = mkdtempSync(join(tmpdir(), 'mipay-history-'));
  });
  after(async () => {
    await network.close();
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the history shows all three with merchant, MCC, amount, time, decline reason, token last 4 and the refund\'s sale', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '韩一', balanceFen: 50_000 });
    const phone = await MiPhone.create({
      path: join(dir, 'a.se'), passphrase: 'phone passphrase 1', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: { n: 2 ** 10, r: 8, p: 1 },
    });
    await phone.logIn({ accountPhone: holder.phone, password: 'correct-horse-9' });
    system.clock.advance(7 * 60_000);
    const card = await phone.addCard({ card: holder.cardId, finger: 'right-thumb', smsCode: () => latestSmsCode(system.platform.app, holder.reservedPhone) });
    const api = apiClient(system.platform.app);
    const before = (await api('GET', '/v1/transactions?limit=100', { token: holder.token })).body.data.length;

    phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
    const sale = await pos.charge({ amountFen: 1_234n, card: phone.paymentApplet() });
    assert.equal(sale.approved, true, formatReceipt(sale));
    const saleAt = system.clock.now().getTime();
    system.clock.advance(60_000);
    phone.pay({ deviceCardId: card.id, finger: 'right-thumb', refund: true });
    const refund = await pos.refund({ amountFen: 1_234n, originalRrn: sale.rrn!, card: phone.paymentApplet() });
    assert.equal(refund.approved, true, formatReceipt(refund));
    system.clock.advance(60_000);
    // More than the card's ¥500: the bank declines 51.
    phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
    const declined = await pos.charge({ amountFen: 60_000n, card: phone.paymentApplet() });
    assert.equal(declined.approved, false, formatReceipt(declined));
    await system.tsp.notices.settled();

    const all = (await api('GET', '/v1/transactions?limit=100', { token: holder.token })).body.data;
    assert.equal(all.length, before + 3, 'one history: the three taps join the account\'s other transactions');
    const taps = (await api('GET', `/v1/transactions?device_card_id=${card.id}`, { token: holder.token })).body.data;
    assert.deepEqual(taps.map((t: any) => [t.type, t.status, t.amount_fen, t.direction]), [
      ['payment', 'failed', 60_000, 'out'], ['refund', 'succeeded', 1_234, 'in'], ['payment', 'succeeded', 1_234, 'out'],
    ]);
    const [no, back, paid] = taps;
    for (const t of taps) {
      assert.deepEqual(t.merchant, { name: 'LAWSON PUDONG', code: '898110000000089', mcc: '5411' });
      assert.equal(t.channel, 'device_card');
      assert.equal(t.device_card.token_last4, card.tokenLast4);
      assert.equal(t.device_card.terminal_id, 'POSHIST1');
      assert.ok(!JSON.stringify(t).includes(holder.cardNumber), 'no card number in the history');
    }
    assert.equal(paid.device_card.rrn, sale.rrn);
    assert.equal(paid.device_card.response_code, '00');
    assert.equal(back.refund_of, paid.id, 'the refund links to its sale');
    assert.equal(no.failure_code, '51');
    assert.equal(no.device_card.response_code, '51');
    assert.ok(no.device_card.decline_reason, 'the decline says why');
    assert.equal(Date.parse(paid.created_at), saleAt, 'the time of the tap');
    assert.deepEqual((await api('GET', `/v1/transactions/${back.id}`, { token: holder.token })).body, back);

    // Cursor pagination walks the merged history without losing or repeating a line.
    const walked: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await api('GET', `/v1/transactions?limit=2${after ? `&starting_after=${after}` : ''}`, { token: holder.token })).body;
      walked.push(...page.data.map((t: any) => t.id));
      if (!page.has_more) break;
      after = page.data.at(-1).id;
    }
    assert.deepEqual(walked, all.map((t: any) => t.id));

    const csv = await system.platform.app.inject({ method: 'GET', url: '/v1/transactions.csv', headers: { authorization: `Bearer ${holder.token}` } });
    const lines = csv.body.split('\r\n');
    const header = lines[0]!.replace('\uFEFF', '').split(',');
    const row = (id: string) => {
      const cells = lines.find((l) => l.startsWith(`${id},`))!.split(',');
      return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
    };
    assert.equal(row(paid.id).merchant_name, 'LAWSON PUDONG');
    assert.equal(row(paid.id).mcc, '5411');
    assert.equal(row(paid.id).amount_yuan, '12.34');
    assert.equal(row(paid.id).device_card_last4, card.tokenLast4);
    assert.equal(row(back.id).refund_of, paid.id);
    assert.equal(row(no.id).response_code, '51');

    const onPhone = await deviceCardHistory(phone, { card: card.tokenLast4 });
    assert.deepEqual(onPhone.map((l) => [l.type, l.status, l.amountFen, l.responseCode]), [
      ['payment', 'failed', 60_000, '51'], ['refund', 'succeeded', 1_234, '00'], ['payment', 'succeeded', 1_234, '00'],
    ]);
    assert.match(formatHistoryLine(onPhone[1]!), new RegExp(`refund .*¥12\\.34  LAWSON PUDONG \\[MCC 5411\\]  \\*\\*\\*\\*${card.tokenLast4}  approved \\(refund of ${paid.id}\\)`));
    assert.match(formatHistoryLine(onPhone[0]!), /declined 51/);
  });

  test('a retried notice is stored once; a malformed or foreign one is refused naming the field and stores nothing', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '韩二', balanceFen: 50_000 });
    const phone = await MiPhone.create({
      path: join(dir, 'b.se'), passphrase: 'phone passphrase 1', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: { n: 2 ** 10, r: 8, p: 1 },
    });
    await phone.logIn({ accountPhone: holder.phone, password: 'correct-horse-9' });
    system.clock.advance(7 * 60_000);
    const card = await phone.addCard({ card: holder.cardId, finger: 'right-thumb', smsCode: () => latestSmsCode(system.platform.app, holder.reservedPhone) });
    const notices = system.platform.deviceCardNotices;
    // Notices name a device card by the TSP's token reference, which the wallet keeps beside its own id.
    const { token_ref_id: tokenReferenceId } = await system.database.forSchema<PlatformTables>(platformSchema).selectFrom('device_cards')
      .select('token_ref_id').where('id', '=', card.id).executeTakeFirstOrThrow();
    const notice = {
      tokenReferenceId, tokenLast4: card.tokenLast4, kind: 'purchase', outcome: 'approved', responseCode: '00', amountFen: 500,
      merchantId: '898110000000089', merchantName: 'LAWSON PUDONG', mcc: '5411', terminalId: 'POSHIST1', stan: '000123', rrn: '000000999001',
      occurredAt: system.clock.now().toISOString(),
    };
    const first = await notices.receive(notice);
    const again = await notices.receive(notice);
    assert.equal(first.stored, true);
    assert.equal(again.stored, false);
    assert.equal(again.transaction.id, first.transaction.id);
    const refused = async (changed: Record<string, unknown>, field: string) => {
      await assert.rejects(notices.receive({ ...notice, rrn: '000000999002', ...changed }), (e: unknown) => e instanceof DeviceCardNoticeError && e.field === field);
    };
    await refused({ amountFen: -1 }, 'amountFen');
    await refused({ amountFen: 1.5 }, 'amountFen');
    await refused({ mcc: '54' }, 'mcc');
    await refused({ occurredAt: 'yesterday' }, 'occurredAt');
    await refused({ outcome: 'approved', responseCode: '51' }, 'responseCode');
    await refused({ tokenReferenceId: 'dc_unknown' }, 'tokenReferenceId');
    await refused({ tokenLast4: card.tokenLast4 === '0000' ? '1111' : '0000' }, 'tokenLast4');
    await refused({ pan: '6222020000000000' }, 'notice');
    const taps = (await apiClient(system.platform.app)('GET', `/v1/transactions?device_card_id=${card.id}`, { token: holder.token })).body.data;
    assert.equal(taps.length, 1);
  });
});
