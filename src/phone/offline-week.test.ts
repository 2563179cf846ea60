// Issue 12, item 4: a phone that syncs once and then stays offline pays 35 times over 7 simulated
// days (5 taps a day), each tap approved by the network's TSP and the bank; the wallet warns when
// a card has few offline payments left, stays quiet while offline, and tops up once back online.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { latestSmsCode, openPaymentAccount, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { formatReceipt, PosTerminal } from '../terminal/party.ts';
import { BackgroundSync, fewPaymentsLeft, offlineWarnings } from './background-sync.ts';
import { MiPhone } from './phone.ts';
import { keysTargetDefault } from './wallet.ts';

const hourMs = 3_600_000;

describe('staying payable offline for a week', () => {
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
    const terminal = await system.network.registerTerminal({ terminalId: 'POSWEEK1', merchantId: '898110000000090', merchantName: 'FAMILYMART', mcc: '5411' });
    pos = new PosTerminal({ ...terminal, network, networkTimeoutMs: 10_000, clock: system.clock.now });
    dir = mkdtempSync(join(tmpdir(), 'mipay-offline-week-'));
  });
  after(async () => {
    await network.close();
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one sync, then 35 offline taps over 7 days all approved; warned when few are left; topped up back online', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name: '魏一', balanceFen: 500_000 });
    const phone = await MiPhone.create({
      path: join(dir, 'week.se'), passphrase: 'phone passphrase 1', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: { n: 2 ** 10, r: 8, p: 1 },
    });
    await phone.logIn({ accountPhone: holder.phone, password: 'correct-horse-9' });
    system.clock.advance(7 * 60_000);
    const card = await phone.addCard({ card: holder.cardId, finger: 'right-thumb', smsCode: () => latestSmsCode(system.platform.app, holder.reservedPhone) });

    // The wallet starts: its one sync tops the card up to the week's stock.
    const problems: Error[] = [];
    const background = new BackgroundSync(phone, { onProblem: (e) => problems.push(e) });
    const synced = await background.start();
    background.stop();
    assert.equal(synced?.replenished[0]?.added, keysTargetDefault - 10);
    assert.equal(phone.cards()[0]!.keysLeft, keysTargetDefault);
    assert.deepEqual(offlineWarnings(phone), []);

    phone.mutableState.platformUrl = 'http://127.0.0.1:1';
    let taps = 0;
    for (let day = 0; day < 7; day++) {
      // The POS signs on each morning (its working keys last a day); the phone has no network all week.
      await pos.signOn();
      for (let i = 0; i < 5; i++) {
        phone.pay({ deviceCardId: card.id, finger: 'right-thumb' });
        const sale = await pos.charge({ amountFen: 1_500n, card: phone.paymentApplet() });
        assert.equal(sale.approved, true, `day ${day + 1}, tap ${i + 1}: ${formatReceipt(sale)}`);
        taps += 1;
        // After each tap the wallet tries to sync: offline, it stays quiet.
        assert.equal(await background.afterTap(), undefined);
        system.clock.advance(2 * hourMs);
      }
      system.clock.advance(14 * hourMs);
    }
    assert.equal(taps, 35);
    assert.deepEqual(problems, [], 'being offline is no problem to report');
    const left = phone.cards()[0]!.keysLeft;
    assert.equal(left, keysTargetDefault - 35);
    assert.ok(left <= fewPaymentsLeft);
    assert.deepEqual(offlineWarnings(phone).map((w) => [w.tokenLast4, w.paymentsLeft]), [[card.tokenLast4, left]]);
    assert.match(offlineWarnings(phone)[0]!.message, /offline payment\(s\) left/);

    // Back online: the next background sync replaces the keys that are spent or about to lapse.
    phone.mutableState.platformUrl = platformUrl;
    const online = await background.kick();
    assert.ok(online && online.replenished.length === 1, JSON.stringify(online));
    assert.ok(phone.cards()[0]!.keysLeft >= 20);
    assert.deepEqual(offlineWarnings(phone), []);
  });
});
