// HTTP bodies as a fuzz target: every route of the platform and the banks that takes a JSON
// body gets generated bodies — random bytes, arbitrary JSON, and its own fields with values
// replaced — through app.inject(), with a live session (or the partner key) so the request gets
// past authentication to the body parser and the validation. The only allowed outcomes ("typed"
// for HTTP): a 2xx, or a 4xx carrying the error shape { error: { type, code, message } } with a
// code the route declares (the error-contract recorder checks that part). A 5xx, a body that is
// not that shape, or an undeclared code fails the run.
import fc from 'fast-check';
import { signUpAndLogIn, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { jsonNear, mutate, randomSeed, type FuzzResult } from './harness.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Route { app: 'platform' | 'bank'; method: string; path: string; seed: Json }
interface Operation { requestBody?: { content?: Record<string, { schema?: any }> } }
interface OpenApi { paths: Record<string, Record<string, Operation>> }

/** A plausible value of a JSON schema's type, to seed the body's fields with. */
function sampleOf(schema: any, depth = 0): Json {
  if (!schema || depth > 4) return null;
  if (schema.example !== undefined) return schema.example as Json;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0] as Json;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.anyOf || schema.oneOf) return sampleOf((schema.anyOf ?? schema.oneOf)[0], depth + 1);
  switch (type) {
    case 'object': {
      const out: Record<string, Json> = {};
      for (const [name, property] of Object.entries(schema.properties ?? {})) out[name] = sampleOf(property, depth + 1);
      return out;
    }
    case 'array':
      return [sampleOf(schema.items, depth + 1)];
    case 'integer':
    case 'number':
      return 100;
    case 'boolean':
      return true;
    case 'string':
      return 'x';
    default:
      return null;
  }
}

function routesOf(app: Route['app'], document: OpenApi): Route[] {
  const routes: Route[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      if (!schema) continue;
      routes.push({ app, method: method.toUpperCase(), path, seed: sampleOf(schema) });
    }
  }
  return routes;
}

const splice = fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 10 }) });
const octet = fc.nat({ max: 255 });
const pathValues = ['x', 'acct_1', '0', '-1', '..%2F', '%00', 'a'.repeat(300), '%E4%B8%AD', 'null', '1e400'];

/** Runs `runs` generated requests; the result counts 2xx as accepted and 4xx as refused. */
export async function fuzzHttpBodies(runs: number, seed = randomSeed()): Promise<FuzzResult> {
  const system = await startTestSystem();
  const started = performance.now();
  let accepted = 0;
  let refused = 0;
  try {
    const routes = [
      ...routesOf('platform', system.platform.app.swagger() as unknown as OpenApi),
      ...routesOf('bank', system.bank.app.swagger() as unknown as OpenApi),
    ];
    let session = (await signUpAndLogIn(system)).token;
    const request = fc.nat({ max: routes.length - 1 }).chain((which) => fc.record({
      route: fc.constant(routes[which]!),
      body: fc.oneof(
        { weight: 4, arbitrary: jsonNear(routes[which]!.seed) },
        {
          weight: 1,
          arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
        },
        // The route's own body with random bytes spliced in (broken JSON that starts well).
        {
          weight: 1,
          arbitrary: fc.array(splice, { maxLength: 3 })
            .map((splices) => mutate(Buffer.from(JSON.stringify(routes[which]!.seed)),
              splices.map(({ at, bytes }) => ({ kind: 'insert' as const, at, bytes })), 4096)),
        },
      ),
      pathValue: fc.constantFrom(...pathValues),
      // A different client address per request, so the abuse limits do not stop the fuzz before the body is read.
      address: fc.tuple(fc.integer({ min: 1, max: 223 }), octet, octet, fc.integer({ min: 1, max: 254 }))
        .map((parts) => parts.join('.')),
      idempotencyKey: fc.option(fc.string({ minLength: 1, maxLength: 80 }), { freq: 4 }),
    }));
    const details = await fc.check(fc.asyncProperty(request, async (generated) => {
      const { route, body, pathValue, address, idempotencyKey } = generated;
      const app = route.app === 'platform' ? system.platform.app : system.bank.app;
      const url = route.path.replace(/\{[^}]+\}/g, pathValue);
      const token = route.app === 'platform' ? session : system.bankPartnerKey;
      const response = await app.inject({
        method: route.method as 'POST', url, remoteAddress: address, payload: body,
        headers: {
          'content-type': 'application/json', authorization: `Bearer ${token}`,
          ...(idempotencyKey !== null && /^[\x21-\x7e]+$/.test(idempotencyKey)
            ? { 'idempotency-key': idempotencyKey } : {}),
        },
      });
      const where = `${route.method} ${url} → ${response.statusCode}`;
      if (response.statusCode >= 500) throw new Error(`${where}: ${response.body.slice(0, 300)}`);
      if (response.statusCode >= 400) {
        const parsed = JSON.parse(response.body) as { error?: { type?: unknown; code?: unknown; message?: unknown } };
        const error = parsed.error;
        if (typeof error?.type !== 'string' || typeof error.code !== 'string' || typeof error.message !== 'string') {
          throw new Error(`${where}: not the error shape: ${response.body.slice(0, 300)}`);
        }
        refused++;
      } else {
        accepted++;
      }
      // A body that happened to be valid may have ended the session (a logout): log in again.
      if (route.app === 'platform' && response.statusCode < 300 && /session|logout|account/.test(route.path)) {
        session = (await signUpAndLogIn(system)).token;
      }
    }), { numRuns: runs, seed });
    const violations = [...system.platform.app.errorContract.violations, ...system.bank.app.errorContract.violations];
    const result: FuzzResult = {
      target: 'http-bodies', runs: details.numRuns, accepted, refused,
      untyped: details.failed || violations.length > 0 ? 1 : 0,
      seed: details.seed, durationMs: Math.round(performance.now() - started),
    };
    if (details.failed) {
      const cause = details.errorInstance;
      const error = cause instanceof Error ? cause.message : String(cause);
      result.failure = { input: describeRequest(details.counterexample?.[0]), error };
    } else if (violations.length > 0) {
      const error = `undeclared error codes: ${JSON.stringify(violations).slice(0, 1_000)}`;
      result.failure = { input: 'see error', error };
    }
    // close() asserts the contract again; the result above already holds what it found.
    system.platform.app.errorContract.violations.length = 0;
    system.bank.app.errorContract.violations.length = 0;
    return result;
  } finally {
    await closeQuietly(system);
  }
}

function describeRequest(value: unknown): string {
  const request = value as { route?: Route; body?: Buffer } | undefined;
  if (!request?.route) return String(value);
  return `${request.route.method} ${request.route.path} ${request.body?.toString('utf8').slice(0, 1_500) ?? ''}`;
}

async function closeQuietly(system: TestSystem): Promise<void> {
  await system.close();
}
