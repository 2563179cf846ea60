// A client generated from /openapi.json with a common generator (openapi-typescript) must
// type-check against what the server really answers: the document cannot drift from the code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import openapiTS, { astToString } from 'openapi-typescript';
import { apiClient, startTestSystem, type TestSystem } from '../cli/test-system.ts';

let system: TestSystem;
let dir: string;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

before(async () => {
  system = await startTestSystem();
  dir = mkdtempSync(join(tmpdir(), 'mipay-client-'));
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await system.close();
});

/** Type-checks `answers.ts` (typed constants holding real answers) against the generated `schema.ts`. */
function typeCheck(answers: string): { status: number | null; output: string } {
  writeFileSync(join(dir, 'answers.ts'), answers);
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext',
    '--moduleResolution', 'bundler', join(dir, 'answers.ts')], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const header = `import type { paths } from './schema.ts';
type Json<P extends keyof paths, M extends keyof paths[P], S extends number> =
  paths[P][M] extends { responses: infer R } ? S extends keyof R ? R[S] extends { content: { 'application/json': infer B } } ? B : never : never : never;
`;

test('a client generated from /openapi.json by openapi-typescript type-checks against real answers', async () => {
  const doc = (await system.platform.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  writeFileSync(join(dir, 'schema.ts'), astToString(await openapiTS(doc)));
  const call = apiClient(system.platform.app);
  const merchant = await call('POST', '/v1/sandbox/merchants', { body: { name: '小米之家', mcc: '5732' } });
  assert.equal(merchant.status, 201);
  const order = await call('POST', '/v1/merchant/orders', { token: merchant.body.api_key, body: { out_trade_no: 'o-1', amount_fen: 2350, description: 'cable' } });
  assert.equal(order.status, 201);
  const code = await call('POST', '/v1/sms-codes', { body: { phone: '13800138000', purpose: 'sign_up' } });
  const refused = await call('GET', '/v1/balance');
  const invalid = await call('POST', '/v1/merchant/orders', { token: merchant.body.api_key, body: { out_trade_no: 'o-2', amount_fen: 1.5, description: 'x' } });
  const answers = [
    `export const merchant: Json<'/v1/sandbox/merchants', 'post', 201> = ${JSON.stringify(merchant.body)};`,
    `export const order: Json<'/v1/merchant/orders', 'post', 201> = ${JSON.stringify(order.body)};`,
    `export const code: Json<'/v1/sms-codes', 'post', 202> = ${JSON.stringify(code.body)};`,
    `export const refused: Json<'/v1/balance', 'get', 401> = ${JSON.stringify(refused.body)};`,
    `export const invalid: Json<'/v1/merchant/orders', 'post', 400> = ${JSON.stringify(invalid.body)};`,
    // The refusal's code is one of the codes the operation documents for its status.
    `export const refusedCode: 'authentication_required' = refused.error.code;`,
  ];
  const checked = typeCheck(header + answers.join('\n'));
  assert.equal(checked.status, 0, checked.output);

  // And the check can fail: an answer the document does not describe is a type error.
  const drifted = typeCheck(`${header}export const order: Json<'/v1/merchant/orders', 'post', 201> = ${JSON.stringify({ ...order.body, amount_fen: '23.50' })};`);
  assert.notEqual(drifted.status, 0);
  assert.match(drifted.output, /answers\.ts\(1?[0-9],[0-9]+\): error TS2322/);
});
