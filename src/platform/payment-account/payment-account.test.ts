import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  apiClient, issueCard, latestSmsCode, newPhone, residentIdFor, signUpAndLogIn, startTestSystem, type TestSystem,
} from '../../cli/test-system.ts';

const pngBase64 = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, 7)]).toString('base64');

/** Row counts of every table an application could write, across the platform, the bank and the SMS carrier. */
async function footprint(system: TestSystem): Promise<Record<string, number>> {
  const count = async (schema: string, table: string) => {
    const row = await system.database.forSchema<any>(schema).selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  };
  return {
    payment_accounts: await count('platform', 'payment_accounts'),
    payment_account_channels: await count('platform', 'payment_account_channels'),
    bank_verifications: await count('bank', 'verifications'),
    bank_agreements: await count('bank', 'agreements'),
    sms: await count('sms', 'messages'),
  };
}

interface Applicant { token: string; name: string; idNumber: string; phone: string; cardNumber: string }

describe('real-name payment account', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  async function applicant(options: { birthDate?: string; bank?: string; gender?: 'male' | 'female' } = {}): Promise<Applicant> {
    const { token } = await signUpAndLogIn(system);
    const idNumber = residentIdFor(options.birthDate ?? '1990-05-17', options.gender ?? 'male');
    const phone = newPhone();
    const name = '李雷';
    const cardNumber = await issueCard(system, { bank: options.bank ?? 'CMB', name, idNumber, phone, balanceFen: 500_000 });
    return { token, name, idNumber, phone, cardNumber };
  }

  const apply = (a: Applicant, overrides: Record<string, string> = {}) => api('POST', '/v1/payment-account/applications', {
    token: a.token, body: { name: a.name, id_number: a.idNumber, card_number: a.cardNumber, reserved_phone: a.phone, ...overrides },
  });

  async function open(a: Applicant, paymentPassword = '135790') {
    const applied = await apply(a);
    assert.equal(applied.status, 201, JSON.stringify(applied.body));
    const code = await latestSmsCode(system.platform.app, a.phone);
    const opened = await api('POST', '/v1/payment-account', { token: a.token, body: { verification_id: applied.body.verification_id, sms_code: code, payment_password: paymentPassword } });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    return opened.body;
  }

  test('happy journey: the bank verifies four elements by SMS, the account opens as Class I', async () => {
    const a = await applicant();
    const applied = await apply(a);
    assert.equal(applied.status, 201);
    assert.equal(applied.body.bank_name, '招商银行');
    assert.equal(applied.body.phone_masked, `${a.phone.slice(0, 3)}****${a.phone.slice(-4)}`);
    const sms = await api('GET', `/v1/sandbox/sms?phone=${a.phone}`);
    assert.match(sms.body.data[0].text, /^【招商银行】您的验证码为[0-9]{6}/);
    const code = await latestSmsCode(system.platform.app, a.phone);
    const opened = await api('POST', '/v1/payment-account', { token: a.token, body: { verification_id: applied.body.verification_id, sms_code: code, payment_password: '135790' } });
    assert.equal(opened.status, 201);
    assert.match(opened.body.id, /^pa_/);
    assert.equal(opened.body.class, 'I');
    assert.equal(opened.body.holder_name_masked, '*雷');
    assert.equal(opened.body.id_number_masked, `1****************${a.idNumber.slice(-1)}`);
    assert.deepEqual(opened.body.limits.balance_payments, { period: 'since_opening', limit_fen: 100_000 });
    assert.equal(opened.body.limits.daily.fewer_than_two_factors_fen, 100_000);
    assert.equal(opened.body.limits.daily.two_factors_fen, 500_000);
    assert.equal(opened.body.channels.length, 1);
    assert.equal(opened.body.channels[0].card_last4, a.cardNumber.slice(-4));
    assert.equal(JSON.stringify(opened.body).includes(a.cardNumber), false, 'the card number is never echoed');
    assert.equal(JSON.stringify(opened.body).includes(a.idNumber), false, 'the ID number is never echoed');

    const again = await apply(a);
    assert.deepEqual([again.status, again.body.error.code], [409, 'payment_account_exists']);
  });

  test('bad input is refused with the field named, and nothing is written anywhere', async () => {
    const a = await applicant();
    const before = await footprint(system);
    const refusals: Array<[Record<string, string>, number, string, string]> = [
      [{ id_number: `${a.idNumber.slice(0, 17)}${a.idNumber.endsWith('0') ? '1' : '0'}` }, 400, 'id_number_invalid', 'id_number'],
      [{ id_number: residentIdFor('1990-02-30').slice(0, 17) + 'X' }, 400, 'id_number_invalid', 'id_number'],
      [{ card_number: `${a.cardNumber.slice(0, -1)}${(Number(a.cardNumber.slice(-1)) + 1) % 10}` }, 400, 'card_number_invalid', 'card_number'],
      [{ card_number: '4000000000000002' }, 422, 'card_bin_unknown', 'card_number'],
      [{ name: '韩梅梅' }, 422, 'holder_name_mismatch', 'name'],
      [{ id_number: residentIdFor('1985-01-01') }, 422, 'id_number_mismatch', 'id_number'],
      [{ reserved_phone: newPhone() }, 422, 'reserved_phone_mismatch', 'reserved_phone'],
      [{ reserved_phone: '1380013800' }, 400, 'parameter_invalid', 'reserved_phone'],
    ];
    for (const [overrides, status, code, param] of refusals) {
      const response = await apply(a, overrides);
      assert.deepEqual([response.status, response.body.error.code, response.body.error.param], [status, code, param], JSON.stringify(overrides));
      assert.ok(response.body.error.message.length > 10);
    }
    assert.deepEqual(await footprint(system), before);
  });

  test('an impossible birth date names the problem', async () => {
    const a = await applicant();
    const first17 = `11010119900230${'123'}`;
    const { residentIdCheckCharacter } = await import('../../protocols/resident-id.ts');
    const response = await apply(a, { id_number: first17 + residentIdCheckCharacter(first17) });
    assert.deepEqual([response.status, response.body.error.code, response.body.error.problem], [400, 'id_number_invalid', 'birth_date']);
  });

  test('a minor is refused before the bank is asked, and nothing about them is kept or logged', async () => {
    const today = system.clock.now();
    const birth = new Date(today.getTime() - 17 * 365.25 * 86_400_000);
    const birthDate = birth.toISOString().slice(0, 10);
    const a = await applicant({ birthDate });
    const before = await footprint(system);
    const logLinesBefore = system.logs.length;
    const response = await apply(a);
    assert.deepEqual([response.status, response.body.error.code, response.body.error.param], [403, 'applicant_under_18', 'id_number']);
    assert.deepEqual(await footprint(system), before);
    const newLogs = system.logs.slice(logLinesBefore).join('\n');
    assert.equal(newLogs.includes(a.idNumber), false);
    assert.equal(newLogs.includes(a.name), false);
  });

  test('the bank\'s code: wrong (tries counted), expired, reused', async () => {
    const a = await applicant();
    const applied = await apply(a);
    const code = await latestSmsCode(system.platform.app, a.phone);
    const wrongCode = code === '000000' ? '000001' : '000000';
    const openWith = (smsCode: string, verificationId = applied.body.verification_id) =>
      api('POST', '/v1/payment-account', { token: a.token, body: { verification_id: verificationId, sms_code: smsCode, payment_password: '135790' } });
    const wrong = await openWith(wrongCode);
    assert.deepEqual([wrong.status, wrong.body.error.code, wrong.body.error.param, wrong.body.error.tries_left], [422, 'sms_code_wrong', 'sms_code', 4]);
    const weak = await api('POST', '/v1/payment-account', { token: a.token, body: { verification_id: applied.body.verification_id, sms_code: code, payment_password: '123456' } });
    assert.deepEqual([weak.status, weak.body.error.code, weak.body.error.param], [400, 'payment_password_too_weak', 'payment_password']);

    system.clock.advance(5 * 60_000 + 1);
    assert.equal((await openWith(code)).body.error.code, 'sms_code_expired');
    const before = await footprint(system);
    assert.deepEqual(await footprint(system), before);

    const second = await apply(a);
    assert.equal(second.status, 201);
    const secondCode = await latestSmsCode(system.platform.app, a.phone);
    assert.equal((await openWith(secondCode, second.body.verification_id)).status, 201);
    // The same code again, e.g. to add a verification channel with it: refused as used.
    const reuse = await api('POST', '/v1/payment-account/channels', { token: a.token, body: { verification_id: second.body.verification_id, sms_code: secondCode } });
    assert.deepEqual([reuse.status, reuse.body.error.code], [422, 'sms_code_used']);

    // Someone else's verification id is not found for this account.
    const other = await applicant();
    const stolen = await api('POST', '/v1/payment-account', { token: other.token, body: { verification_id: second.body.verification_id, sms_code: secondCode, payment_password: '135790' } });
    assert.deepEqual([stolen.status, stolen.body.error.code], [404, 'verification_not_found']);
  });

  test('the bank refuses a card reported lost', async () => {
    const a = await applicant();
    await apiClient(system.bank.app)('POST', '/v1/sandbox/cards/status', { body: { card_number: a.cardNumber, status: 'lost' } });
    const response = await apply(a);
    assert.deepEqual([response.status, response.body.error.code, response.body.error.param], [422, 'card_not_active', 'card_number']);
  });

  test('payment password: five wrong tries lock payment for 3 hours; a sixth try is refused and changes nothing; reset unlocks', async () => {
    const a = await applicant();
    await open(a, '135790');
    const verify = (password: string) => api('POST', '/v1/payment-account/password/verify', { token: a.token, body: { payment_password: password } });
    assert.equal((await verify('135790')).status, 200);
    for (let left = 4; left >= 1; left--) {
      const wrong = await verify('246801');
      assert.deepEqual([wrong.status, wrong.body.error.code, wrong.body.error.tries_left], [422, 'payment_password_wrong', left]);
    }
    const fifth = await verify('246801');
    assert.deepEqual([fifth.status, fifth.body.error.code], [423, 'payment_password_locked']);
    const lockedUntil = fifth.body.error.locked_until;
    assert.equal(Date.parse(lockedUntil) - system.clock.now().getTime(), 3 * 3_600_000);

    const rowBefore = await system.database.forSchema<any>('platform').selectFrom('payment_accounts').select(['password_failed_count', 'password_locked_until']).where('user_id', '=', (await api('GET', '/v1/account', { token: a.token })).body.id).executeTakeFirstOrThrow();
    const sixth = await verify('135790');
    assert.deepEqual([sixth.status, sixth.body.error.code, sixth.body.error.locked_until], [423, 'payment_password_locked', lockedUntil]);
    const rowAfter = await system.database.forSchema<any>('platform').selectFrom('payment_accounts').select(['password_failed_count', 'password_locked_until']).where('user_id', '=', (await api('GET', '/v1/account', { token: a.token })).body.id).executeTakeFirstOrThrow();
    assert.deepEqual(rowAfter, rowBefore);
    assert.equal((await api('GET', '/v1/payment-account', { token: a.token })).body.payment_password.locked_until, lockedUntil);

    // Reset: a code to the account's own phone, plus the holder's ID number.
    const me = (await api('GET', '/v1/account', { token: a.token })).body;
    const notMine = await api('POST', '/v1/sms-codes', { token: a.token, body: { phone: newPhone(), purpose: 'payment_password_reset' } });
    assert.deepEqual([notMine.status, notMine.body.error.code], [422, 'phone_not_account_phone']);
    system.clock.advance(61_000); // one code a minute per phone, and the sign-up code was just sent
    assert.equal((await api('POST', '/v1/sms-codes', { token: a.token, body: { phone: me.phone, purpose: 'payment_password_reset' } })).status, 202);
    const resetCode = await latestSmsCode(system.platform.app, me.phone);
    const wrongId = await api('POST', '/v1/payment-account/password/reset', { token: a.token, body: { sms_code: resetCode, id_number: residentIdFor('1970-01-01'), new_payment_password: '802468' } });
    // Which of the two was wrong is not said, and the right code was spent by the failed try.
    assert.deepEqual([wrongId.status, wrongId.body.error.code, wrongId.body.error.tries_left], [422, 'password_reset_failed', 4]);
    const sameCode = await api('POST', '/v1/payment-account/password/reset', { token: a.token, body: { sms_code: resetCode, id_number: a.idNumber, new_payment_password: '802468' } });
    assert.deepEqual([sameCode.status, sameCode.body.error.code], [422, 'password_reset_failed']);
    system.clock.advance(61_000);
    assert.equal((await api('POST', '/v1/sms-codes', { token: a.token, body: { phone: me.phone, purpose: 'payment_password_reset' } })).status, 202);
    const freshCode = await latestSmsCode(system.platform.app, me.phone);
    const reset = await api('POST', '/v1/payment-account/password/reset', { token: a.token, body: { sms_code: freshCode, id_number: a.idNumber, new_payment_password: '802468' } });
    assert.equal(reset.status, 200);
    assert.equal((await verify('135790')).body.error.code, 'payment_password_wrong');
    assert.equal((await verify('802468')).status, 200);
  });

  test('payment-password reset: ID number and code are checked together, failures are counted, the fifth locks resetting for 24 hours', async () => {
    const a = await applicant();
    await open(a, '135790');
    const me = (await api('GET', '/v1/account', { token: a.token })).body;
    const reset = (smsCode: string, idNumber: string) =>
      api('POST', '/v1/payment-account/password/reset', { token: a.token, body: { sms_code: smsCode, id_number: idNumber, new_payment_password: '802468' } });
    const newCode = async () => {
      system.clock.advance(61_000);
      assert.equal((await api('POST', '/v1/sms-codes', { token: a.token, body: { phone: me.phone, purpose: 'payment_password_reset' } })).status, 202);
      return latestSmsCode(system.platform.app, me.phone);
    };
    const hashOf = async () => (await system.database.forSchema<any>('platform').selectFrom('payment_accounts').select(['password_hash', 'reset_failed_count'])
      .where('user_id', '=', me.id).executeTakeFirstOrThrow());
    const before = await hashOf();
    let code = await newCode();
    const wrongCode = code === '000000' ? '111111' : '000000';
    const answers: unknown[] = [];
    // Wrong code with the right ID number, then the right code with a wrong ID number: one answer shape.
    for (const [smsCode, idNumber] of [[wrongCode, a.idNumber], [code, residentIdFor('1971-02-03')]] as const) {
      const r = await reset(smsCode, idNumber);
      answers.push([r.status, r.body.error.code, r.body.error.param]);
    }
    assert.deepEqual(answers, [[422, 'password_reset_failed', undefined], [422, 'password_reset_failed', undefined]]);
    for (let i = 0; i < 2; i++) {
      code = await newCode();
      assert.equal((await reset(code, residentIdFor('1972-03-04'))).body.error.code, 'password_reset_failed');
    }
    code = await newCode();
    const fifth = await reset(wrongCode, a.idNumber);
    assert.deepEqual([fifth.status, fifth.body.error.code], [423, 'password_reset_locked']);
    // Locked: even both right is refused, the code is not spent, the password is unchanged.
    const locked = await reset(code, a.idNumber);
    assert.deepEqual([locked.status, locked.body.error.code], [423, 'password_reset_locked']);
    assert.equal((await hashOf()).password_hash, before.password_hash);
    assert.equal((await hashOf()).reset_failed_count, 5);
    system.clock.advance(24 * 3_600_000 + 1);
    code = await newCode();
    assert.equal((await reset(code, a.idNumber)).status, 200);
    assert.equal((await hashOf()).reset_failed_count, 0);
    assert.notEqual((await hashOf()).password_hash, before.password_hash);
  });

  test('a lock that ran out starts a new count', async () => {
    const a = await applicant();
    await open(a, '135790');
    const verify = (password: string) => api('POST', '/v1/payment-account/password/verify', { token: a.token, body: { payment_password: password } });
    for (let i = 0; i < 5; i++) await verify('246801');
    assert.equal((await verify('135790')).status, 423);
    system.clock.advance(3 * 3_600_000 + 1);
    const first = await verify('246801');
    assert.deepEqual([first.body.error.code, first.body.error.tries_left], ['payment_password_wrong', 4]);
    assert.equal((await verify('135790')).status, 200);
  });

  test('upgrade by channels: 3 banks reach Class II, 5 reach Class III; the limits apply once the AML data is complete', async () => {
    const a = await applicant({ bank: 'CCB', gender: 'female' });
    await open(a);
    const addChannel = async (bank: string) => {
      const cardNumber = await issueCard(system, { bank, name: a.name, idNumber: a.idNumber, phone: a.phone });
      system.clock.advance(61_000);
      const started = await api('POST', '/v1/payment-account/channels/applications', { token: a.token, body: { card_number: cardNumber, reserved_phone: a.phone } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      const code = await latestSmsCode(system.platform.app, a.phone);
      const added = await api('POST', '/v1/payment-account/channels', { token: a.token, body: { verification_id: started.body.verification_id, sms_code: code } });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      return added.body;
    };
    await addChannel('CMB');
    const three = await addChannel('BOCOM');
    assert.deepEqual([three.class_by_channels, three.class, three.aml_complete], ['II', 'I', false]);

    const sameBank = await issueCard(system, { bank: 'CMB', name: a.name, idNumber: a.idNumber, phone: a.phone });
    const dup = await api('POST', '/v1/payment-account/channels/applications', { token: a.token, body: { card_number: sameBank, reserved_phone: a.phone } });
    assert.deepEqual([dup.status, dup.body.error.code], [409, 'channel_already_verified']);

    const aml = {
      gender: 'female', occupation: '工程师', nationality: 'CHN', id_type: 'resident_id', id_expiry: 'long_term',
      id_photo: { content_type: 'image/png', data_base64: pngBase64 }, address: '北京市东城区东长安街1号',
    };
    const wrongGender = await api('PUT', '/v1/payment-account/aml', { token: a.token, body: { ...aml, gender: 'male' } });
    assert.deepEqual([wrongGender.status, wrongGender.body.error.param], [400, 'gender']);
    const notPng = await api('PUT', '/v1/payment-account/aml', { token: a.token, body: { ...aml, id_photo: { content_type: 'image/png', data_base64: Buffer.from('hello').toString('base64') } } });
    assert.deepEqual([notPng.status, notPng.body.error.param], [400, 'id_photo.data_base64']);
    const expired = await api('PUT', '/v1/payment-account/aml', { token: a.token, body: { ...aml, id_expiry: '2020-01-01' } });
    assert.deepEqual([expired.status, expired.body.error.param], [400, 'id_expiry']);
    assert.equal((await api('GET', '/v1/payment-account', { token: a.token })).body.aml_complete, false);

    const completed = await api('PUT', '/v1/payment-account/aml', { token: a.token, body: aml });
    assert.equal(completed.status, 200);
    assert.deepEqual([completed.body.class, completed.body.limits.balance_payments], ['II', { period: 'calendar_year', limit_fen: 10_000_000 }]);

    await addChannel('SPDB');
    const five = await addChannel('CIB');
    assert.deepEqual([five.class, five.limits.balance_payments.limit_fen, five.channels.length], ['III', 20_000_000, 5]);
  });

  test('a card in someone else\'s name is no verification channel', async () => {
    const a = await applicant();
    await open(a);
    const stranger = residentIdFor('1980-08-08');
    const theirCard = await issueCard(system, { bank: 'CEB', name: '王五', idNumber: stranger, phone: a.phone });
    const response = await api('POST', '/v1/payment-account/channels/applications', { token: a.token, body: { card_number: theirCard, reserved_phone: a.phone } });
    assert.deepEqual([response.status, response.body.error.code, response.body.error.param], [422, 'holder_name_mismatch', 'name']);
  });

  test('every route needs a session', async () => {
    const response = await api('GET', '/v1/payment-account');
    assert.deepEqual([response.status, response.body.error.code, response.body.error.type], [401, 'authentication_required', 'authentication_error']);
  });
});

describe('payment account with the bank over HTTP', () => {
  test('the same journey through the bank\'s HTTP API and partner key', async () => {
    const system = await startTestSystem({ bankOverHttp: true });
    try {
      const api = apiClient(system.platform.app);
      const { token } = await signUpAndLogIn(system);
      const idNumber = residentIdFor('1992-03-04');
      const phone = newPhone();
      const cardNumber = await issueCard(system, { bank: 'PAB', kind: 'credit', name: '赵六', idNumber, phone });
      const mismatch = await api('POST', '/v1/payment-account/applications', { token, body: { name: '赵七', id_number: idNumber, card_number: cardNumber, reserved_phone: phone } });
      assert.deepEqual([mismatch.status, mismatch.body.error.code, mismatch.body.error.param], [422, 'holder_name_mismatch', 'name']);
      const applied = await api('POST', '/v1/payment-account/applications', { token, body: { name: '赵六', id_number: idNumber, card_number: cardNumber, reserved_phone: phone } });
      assert.equal(applied.status, 201, JSON.stringify(applied.body));
      const code = await latestSmsCode(system.platform.app, phone);
      const opened = await api('POST', '/v1/payment-account', { token, body: { verification_id: applied.body.verification_id, sms_code: code, payment_password: '975310' } });
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      assert.equal(opened.body.channels[0].bank_code, 'PAB');
      assert.equal(opened.body.channels[0].card_kind, 'credit');

      // Without the partner key the bank refuses.
      const bankUrl = `http://127.0.0.1:${(system.bank.app.server.address() as { port: number }).port}`;
      const anonymous = await fetch(`${bankUrl}/v1/card-lookups`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ card_number: cardNumber }) });
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as any).error.code, 'unauthorized');
    } finally {
      await system.close();
    }
  });
});
