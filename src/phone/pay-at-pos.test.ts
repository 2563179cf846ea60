// The whole point of the phone, end to end over real sockets: a Mi phone that added a card over
// HTTP pays at a POS with no network of its own — applet → POS kernel → ISO 8583 over TCP →
// network → the platform's TSP → the issuing bank — and the bank's card account is debited.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, latestSmsCode, openPaymentAccount, startTestSystem, type AccountHolder, type TestSystem } from '../cli/test-system.ts';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { formatReceipt, PosTerminal } from '../terminal/party.ts';
import { PhoneError } from './errors.ts';
import { MiPhone } from './phone.ts';

describe('a Mi phone pays offline at a POS (real TCP through the network, the TSP and the bank)', () => {
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
    const terminal = await system.network.registerTerminal({ terminalId: 'POSPHONE', merchantId: '898110000000088', merchantName: 'MI HOME SHANGHAI', mcc: '5732' });
    pos = new PosTerminal({ ...terminal, network, networkTimeoutMs: 10_000, clock: system.clock.now });
    dir = mkdtempSync(join(tmpdir(), 'mipay-pay-at-pos-'));
  });
  after(async () => {
    await network.close();
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const balance = async (pan: string) => BigInt((await apiClient(system.bank.app)('POST', '/v1/sandbox/cards/account', { body: { card_number: pan } })).body.balance_fen);

  /** A holder with a CMB debit card, a phone logged in, the card added to it; then the phone goes offline. */
  async function offlinePhoneWithCard(name: string): Promise<{ holder: AccountHolder; phone: MiPhone; deviceCardId: string; deviceId: string; tokenLast4: string }> {
    const holder = await openPaymentAccount(system, { bank: 'CMB', name, balanceFen: 500_000 });
    const phone = await MiPhone.create({
      path: join(dir, `${holder.userId}.se`), passphrase: 'phone passphrase 1', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb',
      clock: system.clock.now, kdfCost: { n: 2 ** 10, r: 8, p: 1 },
    });
    const { deviceId } = await phone.logIn({ accountPhone: holder.phone, password: 'correct-horse-9' });
    system.clock.advance(7 * 60_000);
    const card = await phone.addCard({ card: holder.cardId, finger: 'right-thumb', smsCode: () => latestSmsCode(system.platform.app, holder.reservedPhone) });
    // No network for the phone from here on: nothing in the pay path may need the platform.
    phone.mutableState.platformUrl = 'http://127.0.0.1:1';
    return { holder, phone, deviceCardId: card.id, deviceId, tokenLast4: card.tokenLast4 };
  }

  test('an offline tap is approved with the fingerprint as CVM, the bank\'s card account is debited, the receipt shows the token\'s last 4; the refund taps again', async () => {
    const { holder, phone, deviceCardId, tokenLast4 } = await offlinePhoneWithCard('冯八');
    const before = await balance(holder.cardNumber);
    phone.pay({ deviceCardId, finger: 'right-thumb' });
    const sale = await pos.charge({ amountFen: 150_000n, card: phone.paymentApplet() });
    assert.equal(sale.approved, true, formatReceipt(sale));
    assert.equal(sale.cvm, 'cdcvm', 'above ¥1,000 with no PIN: the fingerprint was the CVM');
    assert.equal(sale.cardLast4, tokenLast4);
    assert.notEqual(sale.cardLast4, holder.cardNumber.slice(-4), 'receipts show the device card, never the card\'s own last 4');
    assert.match(formatReceipt(sale), new RegExp(`\\*\\*\\*\\* ${tokenLast4} \\(C\\)[\\s\\S]*DEVICE VERIFIED`));
    assert.equal(await balance(holder.cardNumber), before - 150_000n);
    assert.equal(phone.cards()[0]!.keysLeft, 9);

    // Without a new fingerprint the phone does not answer the reader again.
    await assert.rejects(pos.charge({ amountFen: 100n, card: phone.paymentApplet() }), /conditions of use not satisfied/);
    assert.equal(await balance(holder.cardNumber), before - 150_000n);

    phone.pay({ deviceCardId, finger: 'right-thumb' });
    const refund = await pos.refund({ amountFen: 150_000n, originalRrn: sale.rrn!, card: phone.paymentApplet() });
    assert.equal(refund.approved, true, formatReceipt(refund));
    assert.equal(refund.cardLast4, tokenLast4);
    assert.equal(await balance(holder.cardNumber), before);
  });

  test('suspended on the platform while the phone is offline: its tap is declined by the network; after a sync the phone itself refuses', async () => {
    const { holder, phone, deviceCardId } = await offlinePhoneWithCard('陈九');
    const before = await balance(holder.cardNumber);
    assert.equal((await apiClient(system.platform.app)('POST', `/v1/device-cards/${deviceCardId}/suspend`, { token: holder.token })).status, 200);
    phone.pay({ deviceCardId, finger: 'right-thumb' });
    const declined = await pos.charge({ amountFen: 2_350n, card: phone.paymentApplet() });
    assert.equal(declined.approved, false, formatReceipt(declined));
    assert.equal(await balance(holder.cardNumber), before);

    phone.mutableState.platformUrl = platformUrl;
    await phone.sync();
    assert.throws(() => phone.pay({ deviceCardId, finger: 'right-thumb' }), (e: unknown) => e instanceof PhoneError && e.code === 'card_not_active');
  });

  test('a phone reported lost: its offline taps are declined', async () => {
    const { holder, phone, deviceCardId, deviceId } = await offlinePhoneWithCard('褚十');
    assert.equal((await apiClient(system.platform.app)('POST', `/v1/devices/${deviceId}/disable`, { token: holder.token })).status, 200);
    phone.pay({ deviceCardId, finger: 'right-thumb' });
    const declined = await pos.charge({ amountFen: 2_350n, card: phone.paymentApplet() });
    assert.equal(declined.approved, false, formatReceipt(declined));
  });
});
