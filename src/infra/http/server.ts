import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import { ApiError, commonErrors } from './errors.ts';
import { registerInputEdges } from './input-edges.ts';

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

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, description: options.description, version: options.version },
      components: {
        securitySchemes: {
          session: { type: 'http', scheme: 'bearer', description: 'A session token from POST /v1/sessions' },
          merchant: { type: 'http', scheme: 'bearer', description: 'A merchant API key (sk_…)' },
          bank_key: { type: 'http', scheme: 'bearer', description: 'An issuing bank\'s platform key (device card lifecycle for its cards)' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerMetrics(app, options.party);
  registerHealth(app, options.party, options.healthChecks ?? {});

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setNotFoundHandler((request, reply) => {
    const error = commonErrors.not_found(`No route ${request.method} ${request.url.split('?')[0]}.`);
    void reply.code(error.status).send(error.toWire());
  });

  // Parties translate their own typed refusals (e.g. BankError) into catalogue errors.
  const errorMappers: ErrorMapper[] = [];
  app.decorate('addErrorMapper', (mapper: ErrorMapper) => {
    errorMappers.push(mapper);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let mapped: ApiError | undefined;
    for (const mapper of errorMappers) mapped ??= mapper(error);
    const apiError = mapped ?? toApiError(error);
    if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: apiError.code, param: apiError.param }, 'request refused');
    if (apiError.code === 'rate_limited' && typeof apiError.details?.retry_after_s === 'number') {
      void reply.header('retry-after', String(apiError.details.retry_after_s));
    }
    void reply.code(apiError.status).send(apiError.toWire());
  });

  return app;
}

function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issue = error.validation[0];
    const path = issue?.instancePath?.replace(/^\//, '').replaceAll('/', '.') || undefined;
    const where = error.validationContext ?? 'body';
    const param = path ?? (issue?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const message = issue ? `${param ?? where}: ${issue.message}` : 'The request is invalid.';
    return commonErrors.parameter_invalid(message, param);
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
  return commonErrors.internal_error('The server failed to handle this request.');
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
    addErrorMapper(mapper: ErrorMapper): void;
  }
}
