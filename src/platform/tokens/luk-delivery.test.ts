// Issue 10 §6, tried as an attacker with a stolen session would, over real sockets to a listening
// platform: limited-use keys are minted only for a request signed by the key of the device that
// owns the device card, and travel sealed to that device. Every refusal mints nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  apiClient, deviceSignedCall, issueCard, latestSmsCode, openLukBatch, openPaymentAccount, proveFingerprint, provisionDeviceCard, registerDevice, startTestSystem,
  type AccountHolder, type TestSystem,
} from '../../cli/test-system.ts';
import { DEVICE_SIGNATURE_HEADER } from '../../protocols/crypto/device-request.ts';
import { SealedMessageError } from '../../protocols/crypto/device-sealing.ts';
import { limitedUseKey, tokenMasterKey } from '../../network/tsp/keys.ts';

describe('limited-use keys go only to the device that owns the card (issue 10 §6)', () => {
  let system: TestSystem;
  let baseUrl: string;
  let holder: AccountHolder;
  let phoneA: string;
  let phoneB: string;
  let cardOnA: { id: string; tokenNumber: string; sequence: string };

  before(async () => {
    system = await startTestSystem();
    baseUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    holder = await openPaymentAccount(system, { bank: 'CCB' });
    phoneA = await registerDevice(system, holder.token);
    phoneB = await registerDevice(system, holder.token);
    const made = await provisionDeviceCard(system, holder, phoneA, holder.cardId);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    cardOnA = { id: made.body.device_card.id, tokenNumber: made.body.token_number, sequence: made.body.token_sequence };
  });
  after(() => system.close());

  const db = () => system.database.forSchema<any>('platform');
  const tspDb = () => system.database.forSchema<any>('tsp');
  const batchCount = async () => Number((await tspDb().selectFrom('luk_batches').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const keyBatchesPath = (cardId: string) => `/v1/device-cards/${cardId}/key-batches`;

  /** A raw request over the socket, with whatever signature header (or none) the attacker has. */
  async function rawPost(path: string, body: string, signature?: string) {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST', body,
      headers: { authorization: `Bearer ${holder.token}`, 'content-type': 'application/json', ...(signature ? { [DEVICE_SIGNATURE_HEADER]: signature } : {}) },
    });
    return { status: response.status, body: await response.json() as any };
  }

  const rowsOf = async () => ({
    batches: await batchCount(),
    nonces: Number((await db().selectFrom('device_request_nonces').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    nextAtcs: (await tspDb().selectFrom('tokens').select(['wallet_card_id', 'next_atc']).orderBy('wallet_card_id').execute())
      .map((c: any) => `${c.wallet_card_id}:${c.next_atc}`).join(),
  });

  async function assertRefused(attempt: Promise<{ status: number; body: any }>, code: string): Promise<void> {
    const before = await rowsOf();
    const refused = await attempt;
    assert.deepEqual([refused.status, refused.body.error?.code, refused.body.error?.param], [401, code, 'mipay-device-signature'], JSON.stringify(refused.body));
    assert.deepEqual(await rowsOf(), before, 'no key batch minted, no ATC range moved, no nonce kept');
  }

  test('an unsigned replenishment (a stolen session alone) is refused and mints nothing', async () => {
    await assertRefused(rawPost(keyBatchesPath(cardOnA.id), '{"count":5}'), 'device_signature_required');
    await assertRefused(rawPost(keyBatchesPath(cardOnA.id), '{"count":5}', 't=2026-01-01T00:00:00Z,n=x'), 'device_signature_required');
  });

  test('a request signed by another device of the same account is refused', async () => {
    await assertRefused(
      deviceSignedCall(system, { token: holder.token, signer: phoneB, method: 'POST', path: keyBatchesPath(cardOnA.id), body: { count: 5 }, baseUrl }),
      'device_signature_invalid',
    );
  });

  test('a replayed signature is refused: each signed request is single-use', async () => {
    const first = await deviceSignedCall(system, { token: holder.token, signer: phoneA, method: 'POST', path: keyBatchesPath(cardOnA.id), body: { count: 2 }, baseUrl });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await assertRefused(rawPost(keyBatchesPath(cardOnA.id), '{"count":2}', first.signature), 'device_signature_replayed');
  });

  test('a tampered body, a re-targeted path and a stale timestamp are refused', async () => {
    // Signed for {count: 1}, sent with {count: 50}.
    const signed = await deviceSignedCall(system, {
      token: holder.token, signer: phoneA, method: 'POST', path: keyBatchesPath(cardOnA.id), body: { count: 1 }, baseUrl,
      headers: { authorization: 'Bearer none' },
    });
    assert.equal(signed.status, 401, 'the carrier request itself had no session');
    await assertRefused(rawPost(keyBatchesPath(cardOnA.id), '{"count":50}', signed.signature), 'device_signature_invalid');
    // The same signature, unused, sent to another path.
    const other = await provisionDeviceCard(system, holder, phoneA, await bindAnotherCard());
    assert.equal(other.status, 201, JSON.stringify(other.body));
    await assertRefused(rawPost(keyBatchesPath(other.body.device_card.id), '{"count":1}', signed.signature), 'device_signature_invalid');
    const stale = new Date(system.clock.now().getTime() - 6 * 60_000).toISOString();
    await assertRefused(
      deviceSignedCall(system, { token: holder.token, signer: phoneA, method: 'POST', path: keyBatchesPath(cardOnA.id), body: { count: 1 }, timestamp: stale, baseUrl }),
      'device_signature_invalid',
    );
  });

  /** A second bound card of the holder (another bank), to have a second device card on phone A. */
  async function bindAnotherCard(): Promise<string> {
    const api = apiClient(system.platform.app);
    const cardNumber = await issueCard(system, { bank: 'CMB', kind: 'credit', name: holder.name, idNumber: holder.idNumber, phone: holder.reservedPhone });
    system.clock.advance(61_000);
    const applied = await api('POST', '/v1/cards/applications', { token: holder.token, body: { card_number: cardNumber, reserved_phone: holder.reservedPhone } });
    assert.equal(applied.status, 201, JSON.stringify(applied.body));
    const bound = await api('POST', '/v1/cards', {
      token: holder.token, body: { verification_id: applied.body.verification_id, sms_code: await latestSmsCode(system.platform.app, holder.reservedPhone) },
    });
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    return bound.body.id;
  }

  test('provisioning (the first batch) needs the signature of the device named in the body; a refusal spends nothing', async () => {
    const cardId = await bindAnotherCard();
    system.clock.advance(7 * 60_000);
    const nonce = await proveFingerprint(system, holder.token, phoneB);
    const applied = await apiClient(system.platform.app)('POST', '/v1/device-cards/applications', { token: holder.token, body: { device_id: phoneB, card_id: cardId, biometric_nonce: nonce } });
    assert.equal(applied.status, 201, JSON.stringify(applied.body));
    const body = { device_id: phoneB, card_id: cardId, verification_id: applied.body.verification_id, sms_code: await latestSmsCode(system.platform.app, holder.reservedPhone) };
    const cardsBefore = (await db().selectFrom('device_cards').select('id').execute()).length;
    await assertRefused(rawPost('/v1/device-cards', JSON.stringify(body)), 'device_signature_required');
    await assertRefused(deviceSignedCall(system, { token: holder.token, signer: phoneA, method: 'POST', path: '/v1/device-cards', body, baseUrl }), 'device_signature_invalid');
    assert.equal((await db().selectFrom('device_cards').select('id').execute()).length, cardsBefore, 'no device card was made');
    // The bank's verification was not spent by the refusals: the phone's own signed request still succeeds.
    const made = await deviceSignedCall(system, { token: holder.token, signer: phoneB, method: 'POST', path: '/v1/device-cards', body, baseUrl });
    assert.equal(made.status, 201, JSON.stringify(made.body));
  });

  test('a captured answer is useless without the phone\'s private key', async () => {
    const answer = await deviceSignedCall(system, { token: holder.token, signer: phoneA, method: 'POST', path: keyBatchesPath(cardOnA.id), body: { count: 3 }, baseUrl });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    const masterKey = tokenMasterKey(system.tsp.keys, cardOnA.tokenNumber, cardOnA.sequence);
    const luks = Array.from({ length: 3 }, (_, i) => limitedUseKey(masterKey, answer.body.atc_first + i).toString('hex'));
    const wire = JSON.stringify(answer.body).toLowerCase();
    assert.equal(answer.body.keys, undefined, 'no keys in clear');
    for (const luk of luks) assert.equal(wire.includes(luk), false, 'no limited-use key in the answer');
    assert.equal(answer.body.sealed_keys.scheme, 'ecdh-p256-hkdf-sha256-aes-256-gcm');
    // Another device's key, or the right key for another card or batch, opens nothing.
    assert.throws(() => openLukBatch(phoneB, cardOnA.id, answer.body), SealedMessageError);
    assert.throws(() => openLukBatch(phoneA, 'dc_other', answer.body), SealedMessageError);
    assert.throws(() => openLukBatch(phoneA, cardOnA.id, { ...answer.body, id: 'luk_other' }), SealedMessageError);
    const tampered = { ...answer.body, sealed_keys: { ...answer.body.sealed_keys, ciphertext: flipFirstByte(answer.body.sealed_keys.ciphertext) } };
    assert.throws(() => openLukBatch(phoneA, cardOnA.id, tampered), SealedMessageError);
    // The owning phone opens exactly the batch's keys.
    assert.deepEqual(openLukBatch(phoneA, cardOnA.id, answer.body), luks.map((key, i) => ({ atc: answer.body.atc_first + i, key })));
  });
});

function flipFirstByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0]! ^= 0x01;
  return bytes.toString('base64');
}
