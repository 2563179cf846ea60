/**
 * The SMS party as the cli builds it: the sandbox carrier (an outbox in the `sms` schema) or
 * Aliyun's. Other parties import ./client.ts instead.
 */
export type { SmsGateway } from './client.ts';
export { SandboxSmsGateway, smsMigrations, smsSchema, type SmsTables } from './sandbox-gateway.ts';
export { aliyunSmsFromEnv } from './aliyun-gateway.ts';
