// The operator's signals after real traffic: N authorizations over TCP (POS → network → bank)
// show as N in the counters of a /metrics scrape, and each wrote one log line with a masked PAN.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { findCardNumbers } from '../infra/log/captured-logs.ts';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { ContactlessCardEmulator } from '../terminal/card-emulator/contactless-card.ts';
import { PosTerminal } from '../terminal/pos/pos-terminal.ts';
import { decidingParty, maskPan } from './operator-signals.ts';
import { apiClient, issueCard, residentIdFor, startTestSystem, type TestSystem } from './test-system.ts';

let system: TestSystem;
let network: NetworkClient;

before(async () => {
  system = await startTestSystem();
  const address = system.network.server.address()!;
  network = createTcpNetworkClient({ host: address.host, port: address.port });
});

after(async () => {
  await network.close();
  await system.close();
});

/** The value of one sample of a Prometheus text exposition, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test('a scrape of /metrics after N authorizations shows N; one log line each, its card number masked', async () => {
  const scrape = async () => (await system.platform.app.inject({ method: 'GET', url: '/metrics' })).body;
  const approvedBefore = sample(await scrape(), 'mipay_authorizations_total', { kind: 'financial', response_code: '00', party: 'bank' });
  const pan = await issueCard(system, { bank: 'CCB', kind: 'debit', name: '张三', idNumber: residentIdFor('1990-01-01'), phone: '13800000001', balanceFen: 100_000 });
  const personalization = (await apiClient(system.bank.app)('POST', '/v1/sandbox/cards/personalization', { body: { card_number: pan, pin: '123456' } })).body;
  const card = new ContactlessCardEmulator({
    pan: personalization.pan, panSequence: personalization.pan_sequence, expiryYymm: personalization.expiry, holderName: personalization.holder_name,
    acAlgorithm: personalization.ac_algorithm, cryptogramVersion: personalization.cryptogram_version,
    cardMasterKeyAcHex: personalization.card_master_key_ac, atc: personalization.atc, onlinePinAlways: personalization.online_pin_always,
  });
  const terminal = await system.network.registerTerminal({ terminalId: 'POS00009', merchantId: '898110000000009', merchantName: 'MI HOME', mcc: '5732' });
  const pos = new PosTerminal({ ...terminal, network, networkTimeoutMs: 10_000, clock: system.clock.now });
  const sent = await apiClient(system.platform.app)('POST', '/v1/sms-codes', { body: { phone: '13800000002', purpose: 'sign_up' } });
  assert.equal(sent.status, 202);
  const n = 7;
  for (let i = 0; i < n; i += 1) assert.equal((await pos.charge({ amountFen: 100n, card })).responseCode, '00');
  // One more over the balance: declined by the bank (51).
  assert.equal((await pos.charge({ amountFen: 99_000_000n, card, pinPad: { enterPin: async () => '123456' } })).responseCode, '51');

  const metrics = await scrape();
  assert.equal(sample(metrics, 'mipay_authorizations_total', { kind: 'financial', response_code: '00', party: 'bank' }) - approvedBefore, n);
  assert.equal(sample(metrics, 'mipay_authorizations_total', { kind: 'financial', response_code: '51', party: 'bank' }), 1);
  assert.equal(sample(metrics, 'mipay_taps_total', { card: 'card' }), n + 1);
  assert.equal(sample(metrics, 'mipay_authorization_duration_seconds_count', { kind: 'financial' }), n + 1);
  assert.match(metrics, /^mipay_reversals_pending\{party="platform"\} 0$/m);
  assert.ok(sample(metrics, 'mipay_sms_sent_total', {}) >= 1, 'the sign-up code counts as an SMS sent');
  for (const [name, labels] of [['mipay_lockouts_active', { lock: 'login' }], ['mipay_ledger_batches_total', {}],
    ['mipay_ledger_batched_transfers_total', {}], ['mipay_webhook_events', { status: 'delivered' }], ['mipay_webhook_delivery_attempts', { outcome: 'failed' }]] as const) {
    assert.ok(metrics.split('\n').some((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))), `${name} is exported`);
  }

  // The dashboard charts only names the server exports.
  const dashboard = readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8');
  for (const [name] of dashboard.matchAll(/\b(mipay|http)_[a-z_]+/g)) {
    const base = name.replace(/_(bucket|count|sum)$/, '');
    assert.match(metrics, new RegExp(`^# TYPE ${base} `, 'm'), `the dashboard's ${name} is exported`);
  }

  const lines = system.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'authorization' && l.terminal_id === 'POS00009');
  assert.equal(lines.length, n + 1);
  for (const line of lines) {
    assert.match(String(line.stan), /^[0-9]{6}$/);
    assert.match(String(line.rrn), /^[0-9]{12}$/);
    assert.equal(line.masked_pan, maskPan(pan));
    assert.equal(typeof line.duration_ms, 'number');
  }
  assert.deepEqual(findCardNumbers(system.logs.join('\n')), [], 'no log line carries a card number');
});

test('masking and the deciding party', () => {
  assert.equal(maskPan('6214830000001234'), '621483******1234');
  assert.equal(decidingParty({ mti: '0210', fields: { 39: '05', 44: 'ATC_REPLAYED' } }), 'token_service');
  assert.equal(decidingParty({ mti: '0210', fields: { 39: '91', 44: 'ISSUER_TIMEOUT' } }), 'network');
  assert.equal(decidingParty({ mti: '0210', fields: { 39: '51', 44: 'FUNDS' } }), 'bank');
});
