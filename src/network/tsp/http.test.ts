// The TSP's HTTP face over a real socket, through the client the platform uses when the network
// runs in its own process: keys sealed to the device, refusals as TokenServiceError, the
// wallet-provider and issuer keys enforced.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openPaymentAccount, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import type { App } from '../../infra/http/server.ts';
import { createLogger } from '../../infra/log/logger.ts';
import { lukBatchAssociatedData, openSealedForDevice } from '../../protocols/crypto/device-sealing.ts';
import { createHttpTokenServiceClient, TokenServiceError } from '../client.ts';
import { createTspHttpApp } from './http.ts';

let system: TestSystem;
let app: App;
let url = '';

before(async () => {
  system = await startTestSystem();
  app = await createTspHttpApp({
    tsp: system.tsp, walletKey: 'wpk_test-wallet-key', issuerKeys: { CCB: 'ik_ccb-test', CMB: 'ik_cmb-test' },
    logger: createLogger({ name: 'tsp-test', level: 'silent' }), version: 'test',
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app.close();
  await system.close();
});

describe('the TSP over HTTP', () => {
  it('provisions, replenishes, suspends and lists key batches for the wallet-provider key only; issuers act on their own cards', async () => {
    const holder = await openPaymentAccount(system, { bank: 'CCB' });
    const device = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const devicePublicKey = device.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const client = createHttpTokenServiceClient({ baseUrl: url, key: 'wpk_test-wallet-key' });
    const card = { pan: holder.cardNumber, expiryYymm: '3012', panSequence: '01' };

    const stranger = createHttpTokenServiceClient({ baseUrl: url, key: 'wpk_wrong' });
    await assert.rejects(stranger.provision({ walletCardId: 'dc_x', bankCode: 'CCB', card, devicePublicKey, keyCount: 5 }), /HTTP 401/);
    await assert.rejects(client.provision({ walletCardId: 'dc_x', bankCode: 'CCB', card: { ...card, pan: '12' }, devicePublicKey, keyCount: 5 }),
      (error: unknown) => error instanceof TokenServiceError && error.code === 'parameter_invalid' && error.message.includes('card.pan'));

    const token = await client.provision({ walletCardId: 'dc_http1', bankCode: 'CCB', card, devicePublicKey, keyCount: 5 });
    assert.match(token.tokenNumber, /^62999[0-9]+$/);
    assert.equal(token.panLast4, holder.cardNumber.slice(-4));
    assert.equal(JSON.stringify(token).includes(holder.cardNumber), false, 'the answer never holds the card number');
    const keys = JSON.parse(openSealedForDevice(device.privateKey, token.batch.sealedKeys, lukBatchAssociatedData('dc_http1', token.batch.id)).toString('utf8'));
    assert.equal(keys.keys.length, 5);
    assert.equal((await system.tsp.detokenize(token.tokenNumber))?.pan, holder.cardNumber);

    const next = await client.replenish({ tokenReferenceId: token.tokenReferenceId, walletCardId: 'dc_http1', devicePublicKey, keyCount: 3 });
    assert.deepEqual([next.atcFirst, next.keyCount], [6, 3]);
    await assert.rejects(client.replenish({ tokenReferenceId: token.tokenReferenceId, walletCardId: 'dc_other', devicePublicKey, keyCount: 3 }),
      (error: unknown) => error instanceof TokenServiceError && error.code === 'token_not_found');
    assert.deepEqual(await client.liveKeyBatches([token.tokenReferenceId]), { [token.tokenReferenceId]: [token.batch.id, next.id] });

    await client.changeStatus({ tokenReferenceId: token.tokenReferenceId, status: 'suspended', reason: 'user_request' });
    await client.changeStatus({ tokenReferenceId: token.tokenReferenceId, status: 'suspended', reason: 'user_request' });
    await assert.rejects(client.replenish({ tokenReferenceId: token.tokenReferenceId, walletCardId: 'dc_http1', devicePublicKey, keyCount: 3 }),
      (error: unknown) => error instanceof TokenServiceError && error.code === 'token_not_active');
    await client.changeStatus({ tokenReferenceId: token.tokenReferenceId, status: 'active', reason: 'user_request', retireKeys: true });
    assert.deepEqual(await client.liveKeyBatches([token.tokenReferenceId]), {}, 'retired keys are no longer accepted');

    // Issuers: a bank's key acts only for that bank.
    const cmb = createHttpTokenServiceClient({ baseUrl: url, key: 'ik_cmb-test' });
    await assert.rejects(cmb.changeByBank({ bankCode: 'CCB', pan: holder.cardNumber, action: 'suspend', reason: 'card_lost' }),
      (error: unknown) => error instanceof TokenServiceError && error.code === 'parameter_invalid');
    assert.deepEqual(await cmb.changeByBank({ bankCode: 'CMB', pan: holder.cardNumber, action: 'suspend', reason: 'card_lost' }), []);
    await assert.rejects(client.changeByBank({ bankCode: 'CCB', pan: holder.cardNumber, action: 'suspend', reason: 'card_lost' }), /HTTP 401/);
    const ccb = createHttpTokenServiceClient({ baseUrl: url, key: 'ik_ccb-test' });
    const changed = await ccb.changeByBank({ bankCode: 'CCB', pan: holder.cardNumber, action: 'suspend', reason: 'card_lost' });
    assert.deepEqual(changed, [{ tokenReferenceId: token.tokenReferenceId, walletCardId: 'dc_http1', tokenLast4: token.tokenLast4, status: 'suspended' }]);
  });
});
