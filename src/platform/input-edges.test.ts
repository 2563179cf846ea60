// Issue 10 §9, for every route there is: the test reads the OpenAPI documents of the platform and
// the banks and sends a NUL byte in each string field (path, query, body) and an impossible date
// in each date field, with the caller's real credentials, asserting a 400 that names the field.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { openPaymentAccount, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { createTestStaff } from './staff/test-staff.ts';
import type { App } from '../infra/http/server.ts';

let system: TestSystem;
let credentials: Record<string, string>;
before(async () => {
  system = await startTestSystem();
  const holder = await openPaymentAccount(system);
  const { apiKey } = await system.platform.merchants.create({ name: 'Edge Cases Cafe', mcc: '5812' });
  credentials = { session: holder.token, merchant: apiKey, bank_key: Object.values(system.platformBankKeys)[0]!, partner: system.bankPartnerKey,
    // The bank's routes name their scheme `partner_key` in its document.
    partner_key: system.bankPartnerKey,
    // /ops/v1 routes: a staff member holding every role.
    staff: (await createTestStaff(system, ['support_agent', 'risk_reviewer', 'compliance_officer', 'admin'])).token };
});
after(() => system.close());

type JsonSchema = { type?: string | string[]; format?: string; properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[]; oneOf?: JsonSchema[] };
interface Field { in: 'path' | 'query' | 'body'; path: string[]; date: 'date' | 'date-time' | undefined }

const branches = (schema: JsonSchema): JsonSchema[] => [schema, ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
const isString = (schema: JsonSchema) => branches(schema).some((s) => s.type === 'string' || (Array.isArray(s.type) && s.type.includes('string')));
/** A date field: by its documented format, or (a plain string that carries a date or time all the same) by its name. */
function dateKind(schema: JsonSchema, name: string): Field['date'] {
  const formats = branches(schema).map((s) => s.format);
  if (formats.includes('date-time') || /(^|_)timestamp$|_at$/.test(name)) return 'date-time';
  if (formats.includes('date') || /(^|_)date$/.test(name)) return 'date';
  return undefined;
}

/** Every string leaf of a JSON schema (into objects and the first element of arrays). */
function stringLeaves(schema: JsonSchema | undefined, path: string[] = [], depth = 0): Field[] {
  if (!schema || depth > 8) return [];
  const out: Field[] = [];
  const name = path.at(-1) ?? '';
  if (isString(schema)) out.push({ in: 'body', path, date: dateKind(schema, name) });
  for (const branch of branches(schema)) {
    for (const [key, child] of Object.entries(branch.properties ?? {})) out.push(...stringLeaves(child, [...path, key], depth + 1));
    if (branch.items) out.push(...stringLeaves(branch.items, [...path, '0'], depth + 1));
  }
  return out;
}

function nested(path: string[], value: string): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  return /^[0-9]+$/.test(head!) ? [nested(rest, value)] : { [head!]: nested(rest, value) };
}

async function walk(app: App, party: 'platform' | 'bank'): Promise<number> {
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  let sent = 0;
  for (const [template, operations] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, operation] of Object.entries<any>(operations)) {
      const parameters: { in: string; name: string; schema: JsonSchema }[] = operation.parameters ?? [];
      const fields: Field[] = [
        ...parameters.filter((p) => (p.in === 'path' || p.in === 'query') && isString(p.schema))
          .map((p) => ({ in: p.in as 'path' | 'query', path: [p.name], date: dateKind(p.schema, p.name) })),
        ...stringLeaves(operation.requestBody?.content?.['application/json']?.schema),
      ];
      const scheme = Object.keys(operation.security?.[0] ?? {})[0] ?? (party === 'bank' ? 'partner' : undefined);
      const headers: Record<string, string> = { 'idempotency-key': randomUUID(), ...(scheme ? { authorization: `Bearer ${credentials[scheme]}` } : {}) };
      const cases = fields.flatMap((field) => [
        { field, value: 'a\u0000b', what: 'a NUL byte' },
        ...(field.date ? [{ field, value: field.date === 'date' ? '2026-02-30' : '2026-02-30T10:00:00Z', what: 'an impossible date' }] : []),
      ]);
      for (const { field, value, what } of cases) {
        const name = field.path.join('.');
        let url = template.replace(/\{([^}]+)\}/g, (_m, p: string) => encodeURIComponent(field.in === 'path' && p === name ? value : 'x1'));
        if (field.in === 'query') url += `?${new URLSearchParams({ [name]: value })}`;
        const hasBody = method !== 'get' && method !== 'delete';
        const response = await app.inject({
          method: method.toUpperCase() as 'GET', url, headers,
          ...(hasBody ? { payload: (field.in === 'body' ? nested(field.path, value) : {}) as object } : {}),
        });
        const where = `${party} ${method.toUpperCase()} ${template} ${field.in} ${name} with ${what}`;
        assert.notEqual(response.statusCode, 500, `${where}: ${response.body}`);
        assert.equal(response.statusCode, 400, `${where}: ${response.body}`);
        assert.equal(response.json().error.param, name, `${where}: ${response.body}`);
        sent += 1;
      }
    }
  }
  return sent;
}

test('a NUL byte in any string field and an impossible date in any date field of any route is a 400 naming the field', async () => {
  const platform = await walk(system.platform.app, 'platform');
  const bank = await walk(system.bank.app, 'bank');
  // The walk must have found the routes' fields, or it proved nothing.
  assert.ok(platform > 100, `only ${platform} platform cases`);
  assert.ok(bank > 20, `only ${bank} bank cases`);
});

test('the dates the walk knows about are really checked, leap days included', async () => {
  const api = (url: string) => system.platform.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${credentials.session}` } });
  const leap = await api('/v1/transactions.csv?from=2024-02-29&to=2024-03-01');
  assert.equal(leap.statusCode, 200, leap.body);
  for (const [from, param] of [['2025-02-29', 'from'], ['2026-13-01', 'from'], ['2026-04-31', 'from']] as const) {
    const refused = await api(`/v1/transactions.csv?from=${from}`);
    assert.deepEqual([refused.statusCode, refused.json().error.param], [400, param], from);
  }
});
