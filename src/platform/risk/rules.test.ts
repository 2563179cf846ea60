import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { beijingHour, defaultRules, evaluate, parseRules, type OperationFacts, type RiskOperation, type UserHistory } from './rules.ts';

type Recent = UserHistory['recent'][number];
const minute = 60_000;
// 2026-12-07 10:00 Beijing time: daytime.
const t0 = Date.UTC(2026, 11, 7, 2, 0, 0);

function history(recent: Recent[] = [], extra: Partial<UserHistory> = {}): UserHistory {
  return {
    recent, knownDevices: new Set(['dev_home']), paidPayees: new Set(['mi:1000000001']), cardsAddedAtMs: new Map(), ...extra,
  };
}

function op(overrides: Partial<OperationFacts> = {}): OperationFacts {
  return {
    operation: 'transfer', atMs: t0, amountFen: 5_000n, deviceId: 'dev_home', region: '广东省', country: '中国', payee: 'mi:1000000001',
    cardId: null, ...overrides,
  };
}

function past(n: number, overrides: Partial<Recent> = {}): Recent[] {
  return Array.from({ length: n }, (_, i) => ({ ...op(), atMs: t0 - (n - i) * 1_000, outcome: 'succeeded' as const, ...overrides }));
}

const fired = (o: OperationFacts, h: UserHistory) => evaluate(defaultRules, o, h).fired.map((f) => f.id);

describe('risk rules: each fires on its crafted sequence and not on ordinary use', () => {
  test('an ordinary transfer fires nothing', () => {
    assert.deepEqual(evaluate(defaultRules, op(), history(past(3))), { level: 'allow', fired: [] });
  });

  test('velocity by count: the 11th payment in a minute steps up, the 41st is denied', () => {
    assert.deepEqual(fired(op(), history(past(9))), []);
    assert.deepEqual(fired(op(), history(past(10))), ['burst_of_payments']);
    const flood = evaluate(defaultRules, op(), history(past(40)));
    assert.equal(flood.level, 'deny');
    assert.ok(flood.fired.some((f) => f.id === 'payment_flood'));
    // Failed and refused attempts do not count, and old ones fall out of the window.
    assert.deepEqual(fired(op(), history(past(20, { outcome: 'refused' }))), []);
    assert.deepEqual(fired(op(), history(past(20, { outcome: 'failed' }))), []);
    assert.deepEqual(fired(op(), history(past(20, { atMs: t0 - 2 * minute }))), []);
  });

  test('velocity by amount: past ¥20,000 in an hour steps up, past ¥100,000 a day goes to review', () => {
    assert.deepEqual(fired(op({ amountFen: 500_000n }), history(past(3, { amountFen: 500_000n }))), []);
    assert.deepEqual(fired(op({ amountFen: 500_001n }), history(past(3, { amountFen: 500_000n }))), ['hourly_amount']);
    const day = past(10, { amountFen: 1_000_000n }).map((r, i) => ({ ...r, atMs: t0 - (i + 2) * 3_600_000 }));
    assert.equal(evaluate(defaultRules, op({ amountFen: 1_000n }), history(day)).level, 'review');
    // Failed payments moved no money.
    assert.deepEqual(fired(op({ amountFen: 500_001n }), history(past(3, { amountFen: 500_000n, outcome: 'failed' }))), []);
  });

  test('new device: a payment of ¥200 or more from a device never seen before steps up; the first device ever does not', () => {
    assert.deepEqual(fired(op({ deviceId: 'dev_thief', amountFen: 20_000n }), history()), ['new_device_payment']);
    assert.deepEqual(fired(op({ deviceId: 'dev_thief', amountFen: 19_999n }), history()), []);
    assert.deepEqual(fired(op({ deviceId: 'dev_first', amountFen: 20_000n }), history([], { knownDevices: new Set() })), []);
    assert.deepEqual(fired(op({ deviceId: null, amountFen: 20_000n }), history()), ['new_device_payment']);
  });

  test('region jump: another province within two hours of the last operation steps up', () => {
    assert.deepEqual(fired(op({ region: '新疆维吾尔自治区' }), history(past(1))), ['region_jump']);
    assert.deepEqual(fired(op({ region: '新疆维吾尔自治区' }), history(past(1, { atMs: t0 - 3 * 3_600_000 }))), []);
    assert.deepEqual(fired(op({ region: null }), history(past(1))), []);
  });

  test('an IP outside China steps up a payment of ¥500 or more', () => {
    assert.ok(fired(op({ country: '美国', region: '美国', amountFen: 50_000n }), history()).includes('foreign_ip_payment'));
    assert.deepEqual(fired(op({ country: '美国', region: '美国', amountFen: 49_999n }), history()), []);
  });

  test('night-time large amount: ¥5,000 between 00:00 and 06:00 Beijing time steps up', () => {
    const night = Date.UTC(2026, 11, 6, 18, 30); // 02:30 in Beijing
    assert.equal(beijingHour(night), 2);
    assert.deepEqual(fired(op({ atMs: night, amountFen: 500_000n }), history()), ['night_large_amount']);
    assert.deepEqual(fired(op({ atMs: night, amountFen: 499_999n }), history()), []);
    assert.deepEqual(fired(op({ amountFen: 500_000n }), history()), []);
  });

  test('failed-password streak: three wrong payment passwords in a row step up; a success ends the streak', () => {
    assert.deepEqual(fired(op(), history(past(3, { outcome: 'failed_password' }))), ['password_guessing']);
    assert.deepEqual(fired(op(), history([...past(3, { outcome: 'failed_password' }), ...past(1)].map((r, i) => ({ ...r, atMs: t0 - 10_000 + i })))), []);
    const logins = past(20, { operation: 'login', outcome: 'failed_password', amountFen: null, payee: null });
    assert.equal(evaluate(defaultRules, op({ operation: 'login', amountFen: null, payee: null }), history(logins)).level, 'deny');
    assert.equal(evaluate(defaultRules, op({ operation: 'login', amountFen: null, payee: null }), history(logins.slice(1))).level, 'allow');
  });

  test('first payee: ¥2,000 or more to someone never paid before steps up', () => {
    assert.deepEqual(fired(op({ payee: 'mi:2000000002', amountFen: 200_000n }), history()), ['first_payee_large']);
    assert.deepEqual(fired(op({ payee: 'mi:2000000002', amountFen: 199_999n }), history()), []);
    assert.deepEqual(fired(op({ amountFen: 200_000n }), history()), []);
  });

  test('a card added (or put on a device) and used within 10 minutes steps up', () => {
    const cards = new Map([['card_new', t0 - 3 * minute]]);
    assert.deepEqual(fired(op({ cardId: 'card_new', amountFen: 10_000n }), history([], { cardsAddedAtMs: cards })), ['fresh_card']);
    assert.deepEqual(fired(op({ cardId: 'card_new', atMs: t0 + 8 * minute }), history([], { cardsAddedAtMs: cards })), []);
  });

  test('rule sets are checked: unknown kinds, duplicate ids and a step-up on login are refused', () => {
    assert.throws(() => parseRules([{ id: 'x', kind: 'magic', operations: ['payment'], level: 'deny' }]));
    const rule = { id: 'x', kind: 'first_payee', operations: ['transfer'], amountFenMin: 1, level: 'step_up' };
    assert.throws(() => parseRules([rule, rule]), /used twice/);
    assert.throws(() => parseRules([{ ...rule, operations: ['login'] }]), /allowed or denied/);
    assert.equal(parseRules([rule]).length, 1);
  });

  test('a replay of 10,000 ordinary operations gives no deny and no review', () => {
    // Ordinary use: a few hundred users, each on their own phone and province, daytime, paying shops and a handful of friends.
    let seed = 17;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const users = Array.from({ length: 300 }, (_, i) => ({
      device: `dev_${i}`, region: ['广东省', '北京市', '上海市', '浙江省'][i % 4]!, friends: [`mi:${3000000000 + i}`, `mi:${3100000000 + i}`],
      h: { recent: [] as Recent[], knownDevices: new Set<string>(), paidPayees: new Set<string>(), cardsAddedAtMs: new Map<string, number>() },
    }));
    const operations: RiskOperation[] = ['payment', 'payment', 'payment', 'transfer', 'top_up', 'login', 'withdrawal'];
    const levels = { allow: 0, step_up: 0, review: 0, deny: 0 };
    let at = Date.UTC(2026, 11, 7, 1, 0);
    for (let i = 0; i < 10_000; i++) {
      const user = users[Math.floor(random() * users.length)]!;
      const operation = operations[Math.floor(random() * operations.length)]!;
      at += Math.floor(random() * 5_000);
      // Daytime only, as ordinary use mostly is: jump the night in Beijing.
      if (beijingHour(at) < 7) at += 7 * 3_600_000;
      const amountFen = operation === 'login' ? null : BigInt(500 + Math.floor(random() * 30_000));
      const payee = operation === 'transfer' ? user.friends[Math.floor(random() * 2)]! : operation === 'payment' ? 'merchant:M1' : null;
      const facts: OperationFacts = { operation, atMs: at, amountFen, deviceId: user.device, region: user.region, country: '中国', payee, cardId: null };
      const { level } = evaluate(defaultRules, facts, user.h);
      levels[level] += 1;
      const outcome = level === 'allow' ? 'succeeded' : 'refused';
      user.h.recent.push({ ...facts, outcome });
      user.h.knownDevices.add(user.device);
      if (payee && outcome === 'succeeded') user.h.paidPayees.add(payee);
    }
    assert.equal(levels.deny, 0);
    assert.equal(levels.review, 0);
    // The first ¥2,000+ transfer to a friend steps up once per friend at most; nothing else should.
    assert.ok(levels.step_up <= 600, `step-ups: ${levels.step_up}`);
    assert.equal(levels.allow + levels.step_up, 10_000);
  });
});
