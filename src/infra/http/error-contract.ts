/**
 * The error half of the API contract. Each route declares, beside its schema, the catalogue
 * errors it can raise:
 *
 *   app.post('/v1/top-ups', { schema: { summary, description, body, response,
 *     errors: [errors.card_declined, errors.insufficient_balance] } }, handler)
 *
 * From that declaration (plus the errors every route of its shape can raise: a bad field, a bad
 * body, missing credentials, a server failure) the OpenAPI document lists each operation's error
 * responses, by status, all with the one `Error` schema and the codes as an enum. At run time
 * the error handler records any code a route raises without declaring it, and any `param` that
 * is not a field of the route's request; tests assert nothing was recorded.
 */
import type { ErrorFactory, ErrorSpec, ErrorType } from './errors.ts';
import { commonErrors } from './errors.ts';

declare module 'fastify' {
  interface FastifySchema {
    /** The catalogue errors this route raises beyond those its shape implies (see error-contract.ts). */
    errors?: readonly ErrorFactory[];
    /**
     * Names an error's `param` may take that are not fields of this request: facts of the object
     * the path addresses (`device_id` of a device card, `fingerprint_enrolled` of a device).
     */
    errorParams?: readonly string[];
  }
}

/** The parts of a Fastify route schema the contract reads. */
export interface RouteSchemaLike {
  errors?: readonly ErrorFactory[];
  errorParams?: readonly string[];
  body?: unknown;
  querystring?: unknown;
  params?: unknown;
  headers?: unknown;
  security?: ReadonlyArray<Record<string, readonly string[]>>;
  hide?: boolean;
}

/**
 * The errors a route can raise: its declared ones and those its shape implies. `credentialsError`
 * is what the party answers to missing credentials on a route with `security`.
 */
export function routeErrors(schema: RouteSchemaLike | undefined, credentialsError: ErrorFactory = commonErrors.authentication_required): ErrorFactory[] {
  const out = new Map<string, ErrorFactory>();
  const add = (factory: ErrorFactory) => out.set(factory.code, factory);
  if (schema?.body || schema?.querystring || schema?.params || schema?.headers) add(commonErrors.parameter_invalid);
  if (schema?.body) {
    add(commonErrors.body_invalid);
    add(commonErrors.unsupported_media_type);
  }
  if (schema?.security && schema.security.length > 0) add(credentialsError);
  for (const factory of schema?.errors ?? []) add(factory);
  add(commonErrors.internal_error);
  return [...out.values()];
}

export interface ContractViolation {
  method: string;
  route: string;
  kind: 'undeclared_code' | 'param_not_a_field';
  code: string;
  param?: string;
}

const violationsMax = 1_000;

/** What the error handler saw a route raise outside its contract. Bounded; read by tests. */
export class ContractRecorder {
  readonly violations: ContractViolation[] = [];
  /** Documented routes (`METHOD /path`) registered without an `errors` declaration. */
  readonly undeclaredRoutes: string[] = [];

  constructor(private readonly credentialsError: ErrorFactory = commonErrors.authentication_required) {}

  /** Checks one refusal of a matched route against that route's contract. */
  check(method: string, route: string, schema: RouteSchemaLike | undefined, code: string, param: string | undefined): void {
    if (!routeErrors(schema, this.credentialsError).some((f) => f.code === code)) this.#record({ method, route, kind: 'undeclared_code', code });
    const field = param?.split('.')[0]!.toLowerCase();
    if (field !== undefined && !requestFields(schema).has(field) && !schema?.errorParams?.includes(field)) {
      this.#record({ method, route, kind: 'param_not_a_field', code, param });
    }
  }

  #record(violation: ContractViolation): void {
    if (this.violations.length < violationsMax) this.violations.push(violation);
  }
}

/** Top-level field names (lower case) a caller can send to a route: body, query, path and header fields. */
export function requestFields(schema: RouteSchemaLike | undefined): Set<string> {
  const names = new Set<string>();
  for (const part of [schema?.body, schema?.querystring, schema?.params, schema?.headers]) {
    for (const key of Object.keys(shapeOf(part))) names.add(key.toLowerCase());
  }
  return names;
}

function shapeOf(schema: unknown): Record<string, unknown> {
  const shape = (schema as { shape?: unknown } | undefined)?.shape;
  return shape && typeof shape === 'object' ? (shape as Record<string, unknown>) : {};
}

const errorTypes: readonly ErrorType[] = [
  'invalid_request_error', 'authentication_error', 'permission_error', 'card_error', 'verification_error',
  'rate_limit_error', 'idempotency_error', 'api_error',
];

/** The one error schema every operation's error responses point at (`#/components/schemas/Error`). */
export const errorComponent = {
  type: 'object',
  description: 'Every error of every party has this shape (Stripe\'s convention): branch on `error.code`, show `error.message`.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['type', 'code', 'message'],
      additionalProperties: true,
      description: 'The refusal. Some codes add facts of their own (`tries_left`, `locked_until`, `retry_after_s`, `decline_code`, `limit_fen`, …), named in the code\'s description.',
      properties: {
        type: { type: 'string', enum: errorTypes, description: 'The family of the error' },
        code: { type: 'string', description: 'A stable code from the error catalogue; clients branch on it' },
        message: { type: 'string', description: 'A sentence for people, in the caller\'s language (`Accept-Language: zh` for Chinese where available)' },
        param: { type: 'string', description: 'The request field (as the caller sent it) that the error is about, when there is one' },
      },
    },
  },
} as const;

interface OpenApiOperation {
  responses?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The error responses of one operation, by HTTP status, each listing its codes and when they are raised. */
export function errorResponses(factories: readonly ErrorFactory[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorFactory[]>();
  for (const factory of factories) byStatus.set(factory.spec.status, [...(byStatus.get(factory.spec.status) ?? []), factory]);
  const responses: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    responses[String(status)] = {
      description: list.map((f) => `\`${f.code}\`: ${f.spec.raisedWhen}`).join('; '),
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Error' },
              {
                type: 'object',
                properties: {
                  error: {
                    type: 'object', description: 'The refusal',
                    properties: { code: { type: 'string', enum: list.map((f) => f.code), description: 'The codes this operation answers with this status' } },
                  },
                },
              },
            ],
          },
          examples: Object.fromEntries(list.map((f) => [f.code, { value: exampleError(f.code, f.spec) }])),
        },
      },
    };
  }
  return responses;
}

function exampleError(code: string, spec: ErrorSpec): unknown {
  const sentence = spec.raisedWhen.replace(/;.*$/, '');
  return { error: { type: spec.type, code, message: `${sentence[0]!.toUpperCase()}${sentence.slice(1)}.` } };
}

/** `/v1/cards/:id` → `/v1/cards/{id}`, as the OpenAPI document names paths. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Adds the `Error` component and every operation's error responses to a generated OpenAPI document. */
export function addErrorResponses(
  document: { paths?: Record<string, Record<string, OpenApiOperation>>; components?: Record<string, unknown> },
  routeErrorsByOperation: ReadonlyMap<string, readonly ErrorFactory[]>,
): void {
  const components = (document.components ??= {}) as { schemas?: Record<string, unknown> };
  components.schemas = { ...components.schemas, Error: errorComponent };
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      const factories = routeErrorsByOperation.get(`${method.toUpperCase()} ${path}`);
      if (!factories) continue;
      operation.responses = { ...operation.responses, ...errorResponses(factories) };
    }
  }
}
