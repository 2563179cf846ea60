import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AliyunSmsGateway, aliyunSmsFromEnv } from './aliyun-gateway.ts';
import { startFakeAliyunSms, type FakeAliyunSms } from './aliyun-test-server.ts';

let fake: FakeAliyunSms;
const templates = { verification_code: 'SMS_100001', account_exists: 'SMS_100002', bank_verification_code: 'SMS_100003' };

before(async () => {
  fake = await startFakeAliyunSms({ signNames: ['小米支付'], templateCodes: Object.values(templates) });
});
after(() => fake.close());

function gateway(overrides: Partial<ConstructorParameters<typeof AliyunSmsGateway>[0]> = {}): AliyunSmsGateway {
  return new AliyunSmsGateway({
    accessKeyId: fake.accessKeyId, accessKeySecret: fake.accessKeySecret, signName: '小米支付', templates,
    endpoint: new URL(fake.url).host, protocol: 'http', ...overrides,
  });
}

test('the official SDK sends a signed SendSms for a template, and the service accepts it', async () => {
  const sent = await gateway().send({
    to: '13900001111', sender: '小米支付', text: '【小米支付】验证码123456…', template: { name: 'verification_code', params: { code: '123456' } },
  });
  assert.match(sent.messageId, /^aliyun_[0-9]+\^0$/);
  assert.deepEqual(fake.accepted.at(-1), { phone: '13900001111', signName: '小米支付', templateCode: 'SMS_100001', params: { code: '123456' } });
});

test('a wrong secret fails the signature check, and the error carries no secret', async () => {
  const before = fake.accepted.length;
  await assert.rejects(
    gateway({ accessKeySecret: 'not-the-secret' }).send({ to: '13900001111', sender: 's', text: 't', template: { name: 'verification_code', params: { code: '1' } } }),
    (error: Error) => error.name === 'SmsDeliveryError' && /IncompleteSignature/.test(error.message) && !error.message.includes('not-the-secret'),
  );
  assert.equal(fake.accepted.length, before);
});

test('the service\'s business refusals (unapproved signature) and untemplated messages are errors, not silent drops', async () => {
  await assert.rejects(gateway({ signName: '别的签名' }).send({ to: '13900001111', sender: 's', text: 't', template: { name: 'account_exists', params: {} } }), /SMS_SIGNATURE_ILLEGAL/);
  await assert.rejects(gateway().send({ to: '13900001111', sender: 's', text: 'free text' }), /only templates/);
  await assert.rejects(gateway({ templates: {} }).send({ to: '13900001111', sender: 's', text: 't', template: { name: 'account_exists', params: {} } }), /no Alibaba Cloud template code/);
});

test('from the environment: every missing setting is named', () => {
  const missing = aliyunSmsFromEnv({ MIPAY_SMS_TEMPLATES: '{"verification_code":"SMS_1"}' });
  assert.ok('missing' in missing);
  assert.deepEqual(missing.missing, [
    'ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'MIPAY_SMS_SIGN_NAME',
    'MIPAY_SMS_TEMPLATES.account_exists', 'MIPAY_SMS_TEMPLATES.bank_verification_code',
  ]);
  const complete = aliyunSmsFromEnv({
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'a', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'b', MIPAY_SMS_SIGN_NAME: 'c', MIPAY_SMS_TEMPLATES: JSON.stringify(templates),
  });
  assert.ok('gateway' in complete);
});
