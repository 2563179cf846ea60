import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import { addErrorResponses, ContractRecorder, openApiPath, routeErrors, type RouteSchemaLike } from './error-contract.ts';
import { ApiError, commonErrors, type ErrorFactory } from './errors.ts';
import { describeFields } from './field-glossary.ts';
import { registerInputEdges } from './input-edges.ts';
import { RouteTable } from './route-table.ts';
import { localeOf, validationMessage, type Locale } from './validation-message.ts';

export type ErrorMapper = (error: unknown) => ApiError | undefined;

export type App = FastifyInstance<any, any, any, Logger, ZodTypeProvider>;

export interface HttpAppOptions {
  /** The party this server speaks for, e.g. `platform` or `bank`. */
  party: string;
  title: string;
  description: string;
  version: string;
  logger: Logger;
  /** Checks behind `/healthz`; each returns normally when its dependency is usable. */
  healthChecks?: Record<string, () => Promise<void>>;
  bodySizeMax?: number;
  /** The OpenAPI security schemes this party's routes name; default: session, merchant and bank keys. */
  securitySchemes?: Record<string, { type: 'http'; scheme: 'bearer'; description: string }>;
  /** The error this party answers to missing or wrong credentials (default `authentication_required`). */
  credentialsError?: ErrorFactory;
  /** Connection and request time limits; each has a default (httpTimeoutsDefault). */
  timeouts?: Partial<HttpTimeouts>;
}

/**
 * Time limits of an HTTP server (issue 10, section 2): a client that sends its headers or its
 * body a byte at a time, or holds an idle socket open, is cut off after a bounded time.
 */
export interface HttpTimeouts {
  /** The whole request line and headers must arrive within this time. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this time. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic at all (in either direction) is closed after this time. */
  connectionTimeoutMs: number;
}

export const httpTimeoutsDefault: HttpTimeouts = {
  headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, connectionTimeoutMs: 60_000,
};

const authenticationMark = Symbol('mipay.authentication');

/**
 * Marks a route hook as the route's authentication. Whether a route lists it in `preHandler`
 * or `onRequest`, the server runs it as an `onRequest` hook: before the body is read or
 * parsed, so an unauthenticated caller costs no parsing and cannot probe the validators.
 */
export function authenticationHook<H extends (...args: any[]) => any>(hook: H): H {
  return Object.assign(hook, { [authenticationMark]: true });
}

function isAuthenticationHook(hook: unknown): boolean {
  return typeof hook === 'function' && (hook as unknown as Record<symbol, unknown>)[authenticationMark] === true;
}

/** The credentials the platform's routes take, as OpenAPI security schemes. */
export const platformSecuritySchemes = {
  session: { type: 'http', scheme: 'bearer', description: 'A session token from POST /v1/sessions' },
  merchant: { type: 'http', scheme: 'bearer', description: 'A merchant API key (sk_…)' },
  bank_key: { type: 'http', scheme: 'bearer', description: 'An issuing bank\'s platform key (device card lifecycle for its cards)' },
  staff: { type: 'http', scheme: 'bearer', description: 'A staff session token (mpo_…) from POST /ops/v1/sessions' },
} as const;

const requestIdPattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const bodySizeMaxDefault = 64 * 1024;

/**
 * A Fastify server with the conventions every party shares: zod-validated routes documented
 * in `/openapi.json` and `/docs`, one error shape, request ids (`x-request-id`, taken from the
 * caller when well-formed), `/healthz`, Prometheus `/metrics`.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<App> {
  const timeouts = { ...httpTimeoutsDefault, ...options.timeouts };
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodySizeMax ?? bodySizeMaxDefault,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionTimeout: timeouts.connectionTimeoutMs,
    // Node checks the header and request deadlines on this interval (its default is 30 s).
    http: { headersTimeout: timeouts.headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, timeouts.headersTimeoutMs) },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : `req_${randomUUID().replaceAll('-', '')}`;
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // A path Fastify's router refuses before any route runs (a parameter over 100 characters, a
    // bad percent-escape) gets the one error shape too, not Fastify's own body (found by src/fuzz).
    frameworkErrors: (error, request, reply) => {
      const path = request.url.split('?')[0]!.slice(0, 200);
      const why = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is longer than any id' : 'the path is not a valid URL';
      const apiError = commonErrors.not_found(`No route ${request.method} ${path}: ${why}.`)
        .inChinese(`没有 ${request.method} ${path} 这个接口：路径不合法。`);
      const answer = reply as unknown as { code(status: number): { send(body: unknown): unknown } };
      void answer.code(apiError.status).send(apiError.toWire(localeOf(request.headers['accept-language'])));
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.addHook('onRoute', (route) => {
    const preHandlers = [route.preHandler ?? []].flat();
    const authentication = preHandlers.filter(isAuthenticationHook);
    if (authentication.length === 0) return;
    route.preHandler = preHandlers.filter((hook) => !isAuthenticationHook(hook));
    // After the route's own onRequest hooks (rate limits), which are cheaper than a session lookup.
    route.onRequest = [...[route.onRequest ?? []].flat(), ...authentication] as typeof route.onRequest;
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerInputEdges(app);

  // Every API takes JSON only: a text/plain body is 415 naming application/json, not a confusing 400.
  app.removeContentTypeParser('text/plain');

  // Every route's methods (for 405 + Allow) and error contract (for the document and the run-time check).
  const contract = new ContractRecorder(options.credentialsError);
  const routes = new RouteTable();
  const errorsByOperation = new Map<string, readonly ErrorFactory[]>();
  app.addHook('onRoute', (route) => {
    routes.add(route.method, route.url);
    const schema = route.schema as RouteSchemaLike | undefined;
    for (const method of [route.method].flat()) {
      errorsByOperation.set(`${method} ${openApiPath(route.url)}`, routeErrors(schema, options.credentialsError));
      if (schema && !schema.hide && !schema.errors && method !== 'HEAD') contract.undeclaredRoutes.push(`${method} ${route.url}`);
    }
  });
  app.decorate('errorContract', contract);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, description: options.description, version: options.version },
      components: { securitySchemes: options.securitySchemes ?? platformSecuritySchemes },
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) => {
      const { openapiObject } = documentObject as { openapiObject: Parameters<typeof addErrorResponses>[0] };
      addErrorResponses(openapiObject, errorsByOperation);
      describeFields(openapiObject as Parameters<typeof describeFields>[0]);
      return openapiObject as never;
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerMetrics(app, options.party);
  registerHealth(app, options.party, options.healthChecks ?? {});

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const locale = localeOf(request.headers['accept-language']);
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      const error = commonErrors.method_not_allowed(`${path} does not take ${request.method}; it takes ${allowed.join(', ')}.`)
        .inChinese(`${path} 不支持 ${request.method}，只支持 ${allowed.join('、')}。`);
      void reply.code(error.status).header('allow', allowed.join(', ')).send(error.toWire(locale));
      return;
    }
    const error = commonErrors.not_found(`No route ${request.method} ${path}.`).inChinese(`没有 ${request.method} ${path} 这个接口。`);
    void reply.code(error.status).send(error.toWire(locale));
  });

  // Parties translate their own typed refusals (e.g. BankError) into catalogue errors.
  const errorMappers: ErrorMapper[] = [];
  app.decorate('addErrorMapper', (mapper: ErrorMapper) => {
    errorMappers.push(mapper);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let mapped: ApiError | undefined;
    for (const mapper of errorMappers) mapped ??= mapper(error);
    const locale = localeOf(request.headers['accept-language']);
    const apiError = mapped ?? toApiError(error, request, locale);
    const route = request.routeOptions.url;
    if (route) contract.check(request.method, route, request.routeOptions.schema as RouteSchemaLike | undefined, apiError.code, apiError.param);
    if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: apiError.code, param: apiError.param }, 'request refused');
    if (apiError.code === 'rate_limited' && typeof apiError.details?.retry_after_s === 'number') {
      void reply.header('retry-after', String(apiError.details.retry_after_s));
    }
    void reply.code(apiError.status).send(apiError.toWire(locale));
  });

  return app;
}

type RequestParts = Pick<FastifyRequest, 'body' | 'query' | 'params' | 'headers'>;

function toApiError(error: FastifyError, request: RequestParts, locale: Locale): ApiError {
  if (error instanceof ApiError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issue = error.validation[0]!;
    const segments: string[] = issue.instancePath.replace(/^\//, '').split('/').filter(Boolean);
    const keys = (issue.params as { keys?: unknown }).keys;
    const param = segments.length > 0 ? segments.join('.') : Array.isArray(keys) && keys.length > 0 ? String(keys[0]) : undefined;
    const source = { body: request.body, querystring: request.query, params: request.params, headers: request.headers }[error.validationContext ?? 'body'];
    const value = segments.reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), source);
    const issueLike = { keyword: issue.keyword, params: issue.params as Record<string, unknown>, message: issue.message ?? '' };
    return commonErrors.parameter_invalid(validationMessage(issueLike, param, value, 'en'), param)
      .inChinese(validationMessage(issueLike, param, value, 'zh'));
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return commonErrors.unsupported_media_type('Send the body as JSON, with the header `Content-Type: application/json`.')
      .inChinese('请以 JSON 发送请求体，并带上 `Content-Type: application/json` 头。');
  }
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return commonErrors.body_invalid('The body is empty; send a JSON object, or no `Content-Type` header when there is no body.')
      .inChinese('请求体为空：请发送一个 JSON 对象；没有请求体时不要带 `Content-Type` 头。');
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return commonErrors.body_invalid('The body is larger than this server accepts.')
      .inChinese('请求体超过了服务器接受的大小。');
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return commonErrors.body_invalid('The body is not valid JSON.').inChinese('请求体不是合法的 JSON。');
  }
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return commonErrors.body_invalid(error.message);
  }
  if (error.statusCode === 404) return commonErrors.not_found(error.message);
  if (error.statusCode === 405) return commonErrors.method_not_allowed(error.message);
  if (error.statusCode === 429) return commonErrors.rate_limited(error.message);
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return commonErrors.parameter_invalid(error.message);
  }
  return commonErrors.internal_error('The server failed to handle this request.').inChinese('服务器处理此请求时出错。');
}

function registerMetrics(app: App, party: string): void {
  const registry = new Registry();
  registry.setDefaultLabels({ party });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.decorate('metricsRegistry', registry);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    void reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

function registerHealth(app: App, party: string, checks: Record<string, () => Promise<void>>): void {
  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) => {
    const results: Record<string, string> = {};
    let healthy = true;
    for (const [name, check] of Object.entries(checks)) {
      try {
        await check();
        results[name] = 'ok';
      } catch {
        healthy = false;
        results[name] = 'failing';
      }
    }
    void reply.code(healthy ? 200 : 503);
    return { status: healthy ? 'ok' : 'failing', party, checks: results };
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
    /** Refusals a route raised outside its declared error contract (tests assert there are none). */
    errorContract: ContractRecorder;
    addErrorMapper(mapper: ErrorMapper): void;
  }
}
