import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { parseDeviceSignature, signDeviceRequest, verifyDeviceRequest, type DeviceRequest } from './device-request.ts';

const device = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const request: DeviceRequest = { deviceId: 'dev_1', method: 'POST', path: '/v1/device-cards/dc_1/key-batches', body: '{"count":10}' };
const at = '2026-11-30T04:00:00.000Z';

test('a signature verifies for exactly the request it was made for', () => {
  const header = signDeviceRequest(device.privateKey, request, at);
  const signed = parseDeviceSignature(header)!;
  assert.equal(signed.timestamp, at);
  assert.match(signed.nonce, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(verifyDeviceRequest(device.publicKey, request, signed), true);
  assert.equal(verifyDeviceRequest(other.publicKey, request, signed), false, 'another device\'s key');
  for (const changed of [
    { ...request, deviceId: 'dev_2' }, { ...request, method: 'PUT' }, { ...request, path: '/v1/device-cards/dc_2/key-batches' },
    { ...request, path: `${request.path}?x=1` }, { ...request, body: '{"count":50}' }, { ...request, body: '{"count":10} ' },
  ]) assert.equal(verifyDeviceRequest(device.publicKey, changed, signed), false, JSON.stringify(changed));
  assert.equal(verifyDeviceRequest(device.publicKey, request, { ...signed, timestamp: '2026-11-30T04:01:00.000Z' }), false, 'the timestamp is signed');
  assert.equal(verifyDeviceRequest(device.publicKey, request, { ...signed, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' }), false, 'the nonce is signed');
});

test('malformed headers parse to nothing', () => {
  const good = signDeviceRequest(device.privateKey, request, at, 'nonce-nonce-nonce-1');
  assert.ok(parseDeviceSignature(good));
  for (const bad of [
    undefined, '', 't=x', `${good},t=again`, good.replace('n=nonce-nonce-nonce-1', 'n=short'), good.replace('s=', 's=!'),
    good.replace(/^t=[^,]*/, `t=${'9'.repeat(41)}`), `${good},x=1`, 'x'.repeat(401),
  ]) assert.equal(parseDeviceSignature(bad), undefined, String(bad).slice(0, 60));
});
