// The two run modes, as an operator meets them: the real `mipay` binary in its own process.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openFileKeyring } from '../infra/keys/keyring.ts';
import { startFakeAliyunSms, type FakeAliyunSms } from '../sms/aliyun-test-server.ts';
import { isLoopbackHost, listenHost, runMode } from './config.ts';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;
const templates = { verification_code: 'SMS_200001', account_exists: 'SMS_200002', bank_verification_code: 'SMS_200003' };

function baseEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env, MIPAY_DATA_DIR: join(dir, 'data'), MIPAY_KEYRING: join(dir, 'keyring.json'), MIPAY_LOG_LEVEL: 'warn',
    MIPAY_PLATFORM_PORT: '0', MIPAY_BANK_PORT: '0', MIPAY_BANK_ISO_PORT: '0', MIPAY_NETWORK_PORT: '0', MIPAY_TRANSIT_PORT: '0',
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'MIPAY_MODE', 'MIPAY_HOST', 'MIPAY_ALLOW_REMOTE_SANDBOX', 'ALIBABA_CLOUD_ACCESS_KEY_ID',
    'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'MIPAY_SMS_SIGN_NAME', 'MIPAY_SMS_TEMPLATES', 'MIPAY_SMS_ENDPOINT']) delete env[name];
  return env;
}

/** A production keyring: `mipay keys init` where the binary has it, else a keyring file made as the sandbox makes one. */
function makeKeyring(env: NodeJS.ProcessEnv): void {
  const init = spawnSync(process.execPath, [bin, 'keys', 'init'], { env, encoding: 'utf8', timeout: 60_000 });
  if (init.status !== 0) openFileKeyring(env.MIPAY_KEYRING!, { create: true });
}

function run(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 90_000 });
}

describe('production refuses to start without what it needs', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'mipay-modes-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('no keyring file: `up --production` exits 1 naming the keyring', () => {
    const result = run(['up', '--production'], baseEnv(dir));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /no keyring at .*keyring\.json/);
  });

  test('a keyring but no SMS gateway: MIPAY_MODE=production exits 1 naming every missing setting, for `up` and `serve`', () => {
    const env = { ...baseEnv(dir), MIPAY_MODE: 'production' };
    makeKeyring(env);
    const up = run(['up'], env);
    assert.equal(up.status, 1, up.stderr);
    assert.match(up.stderr, /real SMS gateway.*ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, MIPAY_SMS_SIGN_NAME, MIPAY_SMS_TEMPLATES/);
    const serve = run(['serve', 'platform'], env);
    assert.equal(serve.status, 1, serve.stderr);
    assert.match(serve.stderr, /real SMS gateway/);
  });

  test('the sandbox refuses a non-loopback MIPAY_HOST without --allow-remote; a bad MIPAY_MODE is refused', () => {
    const remote = run(['up'], { ...baseEnv(dir), MIPAY_HOST: '0.0.0.0' });
    assert.equal(remote.status, 1, remote.stderr);
    assert.match(remote.stderr, /binds loopback only.*--allow-remote/s);
    const bogus = run(['up'], { ...baseEnv(dir), MIPAY_MODE: 'staging' });
    assert.equal(bogus.status, 1);
    assert.match(bogus.stderr, /MIPAY_MODE must be sandbox or production/);
  });
});

test('mode and host selection', () => {
  assert.equal(runMode(false, {}), 'sandbox');
  assert.equal(runMode(true, {}), 'production');
  assert.equal(runMode(false, { MIPAY_MODE: 'production' }), 'production');
  for (const host of ['127.0.0.1', '127.8.9.1', '::1', 'localhost']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '192.168.1.2']) assert.ok(!isLoopbackHost(host), host);
  const warnings: string[] = [];
  assert.equal(listenHost('sandbox', true, (l) => warnings.push(l), { MIPAY_HOST: '0.0.0.0' }), '0.0.0.0');
  assert.equal(listenHost('sandbox', false, (l) => warnings.push(l), { MIPAY_HOST: '0.0.0.0', MIPAY_ALLOW_REMOTE_SANDBOX: '1' }), '0.0.0.0');
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /WARNING.*reachable from other machines/);
  assert.equal(listenHost('production', false, (l) => warnings.push(l), { MIPAY_HOST: '0.0.0.0' }), '0.0.0.0');
  assert.equal(listenHost('sandbox', false, (l) => warnings.push(l), {}), '127.0.0.1');
  assert.equal(warnings.length, 2);
});

describe('`mipay up --production`, as a process', () => {
  let dir: string;
  let child: ChildProcessWithoutNullStreams;
  let output = '';
  let platformUrl = '';
  let bankUrl = '';
  let sms: FakeAliyunSms;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mipay-production-'));
    sms = await startFakeAliyunSms({ signNames: ['小米支付'], templateCodes: Object.values(templates) });
    const env = {
      ...baseEnv(dir), ALIBABA_CLOUD_ACCESS_KEY_ID: sms.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: sms.accessKeySecret,
      MIPAY_SMS_SIGN_NAME: '小米支付', MIPAY_SMS_TEMPLATES: JSON.stringify(templates), MIPAY_SMS_ENDPOINT: sms.url,
    };
    makeKeyring(env);
    child = spawn(process.execPath, [bin, 'up', '--production'], { env });
    child.stderr.on('data', (chunk) => { output += String(chunk); });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mipay up --production did not start:\n${output}`)), 90_000);
      child.stdout.on('data', (chunk) => {
        output += String(chunk);
        const platform = output.match(/platform API\s+(http:\/\/\S+)\/v1/);
        const bank = output.match(/banks\s+(http:\/\/\S+)\/v1\/banks/);
        if (platform && bank) {
          platformUrl = platform[1]!;
          bankUrl = bank[1]!;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`mipay up --production exited with ${code}:\n${output}`)));
    });
  });

  after(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await sms?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the banner says production and offers no sandbox SMS line', () => {
    assert.match(output, /mode {10}production/);
    assert.doesNotMatch(output, /sandbox SMS/);
    assert.match(output, /database\s+PGlite/);
  });

  test('no /v1/sandbox/* route answers on any listener, and none is documented', async () => {
    const json = { 'content-type': 'application/json' };
    const attempts: [string, RequestInit][] = [
      [`${platformUrl}/v1/sandbox/sms?phone=13900001111`, {}],
      [`${platformUrl}/v1/sandbox/merchants`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'x', mcc: '5411' }) }],
      [`${bankUrl}/v1/sandbox/sms?phone=13900001111`, {}],
      [`${bankUrl}/v1/sandbox/cards`, { method: 'POST', headers: json, body: '{}' }],
      [`${bankUrl}/v1/sandbox/cards/personalization`, { method: 'POST', headers: json, body: JSON.stringify({ card_number: '6214830100000009' }) }],
      [`${bankUrl}/v1/sandbox/cards/status`, { method: 'POST', headers: json, body: '{}' }],
      [`${bankUrl}/v1/sandbox/cards/account`, { method: 'POST', headers: json, body: '{}' }],
    ];
    for (const [url, init] of attempts) {
      const response = await fetch(url, init);
      assert.equal(response.status, 404, url);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'not_found');
    }
    for (const base of [platformUrl, bankUrl]) {
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/sandbox')), [], base);
    }
  });

  test('a sign-up code goes out through the Alibaba Cloud gateway, signed, as a template with the code', async () => {
    const response = await fetch(`${platformUrl}/v1/sms-codes`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '13900002222', purpose: 'sign_up' }),
    });
    assert.equal(response.status, 202);
    const sent = sms.accepted.find((m) => m.phone === '13900002222');
    assert.ok(sent, 'the provider accepted a message for the phone');
    assert.equal(sent.templateCode, templates.verification_code);
    assert.match(sent.params.code!, /^[0-9]{6}$/);
  });
});
