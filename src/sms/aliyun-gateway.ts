import * as dysmsapi from '@alicloud/dysmsapi20170525';
import * as openapi from '@alicloud/openapi-core';
import type { SmsGateway, SmsMessage, SmsTemplate } from './client.ts';

/** What a deployment configures to send through Alibaba Cloud SMS (短信服务, Dysmsapi 2017-05-25). */
export interface AliyunSmsConfig {
  accessKeyId: string;
  accessKeySecret: string;
  /** The approved signature (签名) shown in brackets at the start of each message, e.g. 小米支付. */
  signName: string;
  /** The approved template code (e.g. `SMS_154950909`) for each template name the parties send. */
  templates: Readonly<Partial<Record<SmsTemplate['name'], string>>>;
  /** `dysmsapi.aliyuncs.com` unless overridden (tests point it at a local server). */
  endpoint?: string;
  protocol?: 'https' | 'http';
  timeoutMs?: number;
}

export class SmsDeliveryError extends Error {
  override name = 'SmsDeliveryError';
}

// The SDK is CommonJS; its client class is the module's default export.
interface DysmsClient {
  sendSms(request: dysmsapi.SendSmsRequest): Promise<dysmsapi.SendSmsResponse>;
}
const DysmsClient = ((dysmsapi as any).default?.default ?? (dysmsapi as any).default) as new (config: openapi.$OpenApiUtil.Config) => DysmsClient;

/**
 * The production SMS carrier: Alibaba Cloud SMS through its official SDK
 * (`@alicloud/dysmsapi20170525`, action SendSms, ACS3-HMAC-SHA256 request signing). Chinese
 * carriers accept only pre-approved templates, so a message without a template, or with one
 * this deployment has no template code for, is refused rather than sent as something else.
 */
export class AliyunSmsGateway implements SmsGateway {
  readonly #client: DysmsClient;
  readonly #config: AliyunSmsConfig;

  constructor(config: AliyunSmsConfig) {
    this.#config = config;
    this.#client = new DysmsClient(new openapi.$OpenApiUtil.Config({
      accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret,
      endpoint: config.endpoint ?? 'dysmsapi.aliyuncs.com', protocol: config.protocol ?? 'https',
      readTimeout: config.timeoutMs ?? 5_000, connectTimeout: config.timeoutMs ?? 5_000,
    }));
  }

  async send(message: SmsMessage): Promise<{ messageId: string }> {
    if (!message.template) throw new SmsDeliveryError('Alibaba Cloud SMS sends only templates; this message has none');
    const templateCode = this.#config.templates[message.template.name];
    if (!templateCode) throw new SmsDeliveryError(`no Alibaba Cloud template code is configured for "${message.template.name}"`);
    let response: dysmsapi.SendSmsResponse;
    try {
      response = await this.#client.sendSms(new dysmsapi.SendSmsRequest({
        phoneNumbers: message.to, signName: this.#config.signName, templateCode, templateParam: JSON.stringify(message.template.params),
      }));
    } catch (error) {
      // The SDK's error may quote the request; only its code and a short message go on.
      const e = error as { code?: string; message?: string };
      throw new SmsDeliveryError(`Alibaba Cloud SMS refused the request: ${e.code ?? 'error'} ${(e.message ?? '').slice(0, 120)}`);
    }
    const body = response.body;
    if (body?.code !== 'OK' || !body.bizId) {
      throw new SmsDeliveryError(`Alibaba Cloud SMS did not accept the message: ${body?.code ?? 'no answer'} ${body?.message ?? ''}`.trim());
    }
    return { messageId: `aliyun_${body.bizId}` };
  }
}

/**
 * The production carrier from the environment, or the list of what is missing:
 * `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `MIPAY_SMS_SIGN_NAME`,
 * `MIPAY_SMS_TEMPLATES` (JSON: template name → template code); `MIPAY_SMS_ENDPOINT` optional.
 */
export function aliyunSmsFromEnv(env: NodeJS.ProcessEnv): { gateway: AliyunSmsGateway } | { missing: string[] } {
  const required = ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'MIPAY_SMS_SIGN_NAME', 'MIPAY_SMS_TEMPLATES'] as const;
  const missing: string[] = required.filter((name) => !env[name]);
  let templates: Record<string, string> = {};
  if (env.MIPAY_SMS_TEMPLATES) {
    try {
      templates = JSON.parse(env.MIPAY_SMS_TEMPLATES) as Record<string, string>;
    } catch {
      missing.push('MIPAY_SMS_TEMPLATES (not valid JSON)');
    }
  }
  for (const name of ['verification_code', 'account_exists', 'bank_verification_code'] as const) {
    if (env.MIPAY_SMS_TEMPLATES && typeof templates[name] !== 'string') missing.push(`MIPAY_SMS_TEMPLATES.${name}`);
  }
  if (missing.length > 0) return { missing };
  const endpoint = env.MIPAY_SMS_ENDPOINT ? new URL(env.MIPAY_SMS_ENDPOINT) : undefined;
  return {
    gateway: new AliyunSmsGateway({
      accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!, accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!, signName: env.MIPAY_SMS_SIGN_NAME!,
      templates, ...(endpoint ? { endpoint: endpoint.host, protocol: endpoint.protocol === 'http:' ? 'http' : 'https' } : {}),
    }),
  };
}
