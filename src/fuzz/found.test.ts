// What the fuzz runs found, each pinned by the input that showed it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { phoneStateCodec } from '../phone/phone-state.ts';
import { SecureElementError, decodeContents } from '../phone/secure-element.ts';
import { apiClient, signUpAndLogIn, startTestSystem } from '../cli/test-system.ts';

test('a phone state file whose cards or key batches hold null is malformed, not a TypeError', () => {
  for (const contents of [
    { stateVersion: 2, cards: [null] },
    { stateVersion: 2, cards: [{ cardId: 'dc_1', lukBatches: [null] }] },
    { stateVersion: 2, cards: ['x'] },
  ]) {
    assert.throws(() => decodeContents('phone.json', Buffer.from(JSON.stringify(contents)), phoneStateCodec),
      (error: unknown) => error instanceof SecureElementError && error.code === 'malformed');
  }
});

test('a path segment over the router\'s limit or a bad escape gets the error shape, not Fastify\'s', async () => {
  const system = await startTestSystem();
  try {
    const { token } = await signUpAndLogIn(system);
    const call = apiClient(system.platform.app);
    for (const url of [`/v1/devices/${'a'.repeat(300)}`, '/v1/devices/%E4%B8']) {
      const response = await call('PATCH', url, { token, body: {} });
      assert.ok(response.status === 404 || response.status === 400, `${url}: ${response.status}`);
      assert.equal(typeof response.body.error.code, 'string');
      assert.equal(typeof response.body.error.type, 'string');
      assert.equal(typeof response.body.error.message, 'string');
    }
    const long = await call('PATCH', `/v1/devices/${'a'.repeat(300)}`, { token, body: {} });
    assert.equal(long.status, 404);
    assert.equal(long.body.error.code, 'not_found');
  } finally {
    await system.close();
  }
});
