// The TSP tells the wallet server (WalletServerPort): a bank's card lifecycle reaches the device
// cards through the TSP alone, and every device card request's final answer becomes a
// transaction notice, queued and retried, never delaying or failing the authorization.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  apiClient, openPaymentAccount, provisionDeviceCard, registerDevice, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';
import { TestDeviceCard } from '../../platform/tokens/test-device-card.ts';
import { PosTerminal } from '../../terminal/party.ts';
import { createTcpNetworkClient, type DeviceCardTransactionNotice, type NetworkClient } from '../client.ts';

let system: TestSystem;
let network: NetworkClient;
let pos: PosTerminal;

before(async () => {
  system = await startTestSystem({ networkBankTimeoutMs: 2_000 });
  const address = system.network.server.address()!;
  network = createTcpNetworkClient({ host: address.host, port: address.port });
  const terminal = await system.network.registerTerminal({ terminalId: 'POSNOTIC', merchantId: '898110000000066', merchantName: 'MI HOME XIAN', mcc: '5732' });
  pos = new PosTerminal({ ...terminal, network, networkTimeoutMs: 10_000, clock: system.clock.now });
});

after(async () => {
  await network.close();
  await system.close();
});

async function wallet() {
  const holder = await openPaymentAccount(system, { bank: 'CCB', balanceFen: 500_000 });
  const deviceId = await registerDevice(system, holder.token);
  const made = await provisionDeviceCard(system, holder, deviceId, holder.cardId);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const row = await system.database.forSchema<any>('platform').selectFrom('device_cards').select('token_ref_id')
    .where('id', '=', made.body.device_card.id).executeTakeFirstOrThrow();
  return {
    holder, deviceCardId: made.body.device_card.id as string, tokenRefId: row.token_ref_id as string, tokenNumber: made.body.token_number as string,
    phone: new TestDeviceCard(made.body),
  };
}

async function until<T>(read: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the TSP tells the wallet server', () => {
  it('a card reported lost at its bank (the bank\'s own sandbox route) suspends its device cards through the TSP; found again resumes them', async () => {
    const w = await wallet();
    const platformApi = apiClient(system.platform.app);
    const bankApi = apiClient(system.bank.app);
    const statusOf = async () => (await platformApi('GET', `/v1/device-cards/${w.deviceCardId}`, { token: w.holder.token })).body;

    const lost = await bankApi('POST', '/v1/sandbox/cards/status', { body: { card_number: w.holder.cardNumber, status: 'lost' } });
    assert.equal(lost.status, 200, JSON.stringify(lost.body));
    assert.deepEqual([(await statusOf()).status, (await statusOf()).status_reason], ['suspended', 'card_lost']);
    const events = (await platformApi('GET', `/v1/device-cards/${w.deviceCardId}/events`, { token: w.holder.token })).body.data;
    assert.deepEqual([events.at(-1).to_status, events.at(-1).reason, events.at(-1).actor], ['suspended', 'card_lost', 'bank']);
    const tokens = system.database.forSchema<any>('tsp').selectFrom('tokens').select(['status', 'status_reason']).where('token_ref_id', '=', w.tokenRefId);
    assert.deepEqual(await tokens.executeTakeFirstOrThrow(), { status: 'suspended', status_reason: 'card_lost' });

    const found = await bankApi('POST', '/v1/sandbox/cards/status', { body: { card_number: w.holder.cardNumber, status: 'active' } });
    assert.equal(found.status, 200);
    assert.equal((await statusOf()).status, 'active');
    assert.equal((await pos.charge({ amountFen: 1_200n, card: w.phone })).responseCode, '00');
  });

  it('every device card request\'s final answer becomes a notice: approved, declined, and a refund linked to its sale', async () => {
    const notices: DeviceCardTransactionNotice[] = [];
    system.walletPort.onDeviceCardTransaction = async (notice) => void notices.push(notice);
    try {
      const w = await wallet();
      const mine = () => notices.filter((n) => n.tokenReferenceId === w.tokenRefId);
      const sale = await pos.charge({ amountFen: 3_000n, card: w.phone });
      assert.equal(sale.responseCode, '00');
      const saleNotice = await until(() => mine().find((n) => n.kind === 'purchase'), 'the sale\'s notice');
      assert.deepEqual(
        [saleNotice.outcome, saleNotice.responseCode, saleNotice.amountFen, saleNotice.rrn, saleNotice.terminalId, saleNotice.merchantId],
        ['approved', '00', 3_000, sale.rrn, 'POSNOTIC', '898110000000066'],
      );
      assert.equal(saleNotice.tokenLast4, w.tokenNumber.slice(-4));
      assert.ok(!Number.isNaN(Date.parse(saleNotice.occurredAt)));

      const refund = await pos.refund({ amountFen: 1_000n, originalRrn: sale.rrn!, card: w.phone });
      assert.equal(refund.responseCode, '00');
      const refundNotice = await until(() => mine().find((n) => n.kind === 'refund'), 'the refund\'s notice');
      assert.deepEqual([refundNotice.outcome, refundNotice.originalRrn, refundNotice.amountFen], ['approved', sale.rrn, 1_000]);

      const tooMuch = await pos.charge({ amountFen: 900_000n, card: w.phone });
      assert.notEqual(tooMuch.responseCode, '00');
      const declined = await until(() => mine().find((n) => n.outcome === 'declined'), 'the decline\'s notice');
      assert.equal(declined.responseCode, tooMuch.responseCode);
      const text = JSON.stringify(notices);
      assert.equal(text.includes(w.holder.cardNumber) || text.includes(w.tokenNumber), false, 'no card or token number in a notice');
    } finally {
      system.walletPort.onDeviceCardTransaction = undefined;
    }
  });

  it('a wallet server that does not take a notice does not hold up the tap; the notice is retried until it is taken', async () => {
    const taken: DeviceCardTransactionNotice[] = [];
    let refusals = 0;
    system.walletPort.onDeviceCardTransaction = async (notice) => {
      if (refusals < 1) {
        refusals += 1;
        throw new Error('wallet history down');
      }
      taken.push(notice);
    };
    try {
      const w = await wallet();
      const sale = await pos.charge({ amountFen: 700n, card: w.phone });
      assert.equal(sale.responseCode, '00', 'the tap is approved whatever the wallet does');
      await until(() => (refusals === 1 ? true : undefined), 'the first refusal');
      const pending = system.database.forSchema<any>('tsp').selectFrom('wallet_notices').select('attempts');
      assert.deepEqual((await pending.execute()).map((r: { attempts: number }) => r.attempts), [1], 'kept, one attempt made');
      // The retry is due after its backoff (1 s on the TSP's clock); delivery passes run every second, or now.
      system.clock.advance(1_500);
      await system.tsp.notices.deliver();
      const notice = await until(() => taken.find((n) => n.rrn === sale.rrn), 'the retried notice');
      assert.equal(notice.outcome, 'approved');
      assert.deepEqual(await pending.execute(), [], 'nothing left to deliver');
    } finally {
      system.walletPort.onDeviceCardTransaction = undefined;
    }
  });
});
