/**
 * The platform's face for other parties (the phone, a partner's server): the `/v1` wire types,
 * DERIVED from the zod schemas the routes validate and serialize with (`z.infer`, so they cannot
 * drift from the API), the error the platform answers with, and the HTTP client. This file
 * imports only types of the platform (erased by the compiler): loading it loads no platform code.
 * The cli builds the platform from ./party.ts.
 */
import type { z } from 'zod';
import type { userSchema } from './accounts/routes.ts';
import type { boundCardSchema } from './cards/routes.ts';
import type { paymentCertificateSchema } from './certificates/routes.ts';
import type { deviceSchema } from './devices/routes.ts';
import type { doorCardBackupSchema } from './door-cards/routes.ts';
import type { orderSchema } from './merchants/routes.ts';
import type { transactionSchema } from './payments/routes.ts';
import type { deviceCardSchema } from './tokens/routes.ts';
import type { transitCardSchema, transitLoadSchema } from './transit/routes.ts';

/** A Mi account as `/v1/me` and sign-up answer it. */
export type User = z.infer<typeof userSchema>;
/** A quick pay (快捷支付) bank card bound to the payment account: the source of device cards. */
export type BoundCard = z.infer<typeof boundCardSchema>;
export type Device = z.infer<typeof deviceSchema>;
export type PaymentCertificate = z.infer<typeof paymentCertificateSchema>;
export type DoorCardBackup = z.infer<typeof doorCardBackupSchema>;
export type Order = z.infer<typeof orderSchema>;
export type Transaction = z.infer<typeof transactionSchema>;
/** The wallet server's reference to a device card (token last 4, masked numbers, status). */
export type DeviceCard = z.infer<typeof deviceCardSchema>;
export type TransitCard = z.infer<typeof transitCardSchema>;
/** An online top-up of a transit card, signed by the operator once `online_seq` is set. */
export type TransitLoad = z.infer<typeof transitLoadSchema>;

/** A phone request that takes longer is given up; the user can retry when the network is better. */
const requestTimeoutMs = 15_000;

export interface PlatformCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  token?: string | undefined;
  /**
   * Signs the request with the device key (the routes that mint limited-use keys need it):
   * given the exact body text, answers the `Mipay-Device-Signature` header value.
   */
  deviceSignature?: ((request: { method: string; path: string; body: string }) => string) | undefined;
  /** For POSTs that move money: the same key on a retry gets the first answer. */
  idempotencyKey?: string;
  /** More headers (an `Idempotency-Key` on a money-moving POST). */
  headers?: Record<string, string> | undefined;
}

export class PlatformClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** One API call; a non-2xx answer becomes a PlatformError with the platform's code and param. */
  async call<T = any>(request: PlatformCall): Promise<T> {
    const url = `${this.baseUrl}${request.path}`;
    const payload = request.body !== undefined ? JSON.stringify(request.body) : undefined;
    const signature = request.deviceSignature?.({ method: request.method, path: request.path, body: payload ?? '' });
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers: {
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
          ...(signature ? { 'mipay-device-signature': signature } : {}),
          ...(request.idempotencyKey ? { 'idempotency-key': request.idempotencyKey } : {}),
          'user-agent': 'mipay-phone/1',
          ...request.headers,
        },
        ...(payload !== undefined ? { body: payload } : {}),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      throw new PlatformUnreachableError(this.baseUrl, error);
    }
    const text = await response.text();
    let body: any = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new PlatformError(response.status, { code: 'bad_response', message: `The platform at ${this.baseUrl} did not answer JSON (HTTP ${response.status}).` });
      }
    }
    if (!response.ok) throw new PlatformError(response.status, body?.error ?? {});
    return body as T;
  }
}

/** The platform answered with an error (`{ error: { type, code, message, param } }`). */
export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  readonly status: number;
  readonly code: string;
  readonly type: string;
  readonly param: string | undefined;
  /** The error's other, non-secret facts (e.g. `retry_after_s`, `tries_left`). */
  readonly details: Record<string, unknown>;

  constructor(status: number, error: { type?: string; code?: string; message?: string; param?: string | null; [detail: string]: unknown }) {
    const { type, code: given, message, param, ...details } = error;
    const code = given ?? `http_${status}`;
    const retry = typeof details.retry_after_s === 'number' ? ` Try again in ${details.retry_after_s} s.` : '';
    super(`${message ?? `The platform answered HTTP ${status}.`}${retry} [${code}${param ? `, param ${param}` : ''}]`);
    this.status = status;
    this.code = code;
    this.type = type ?? 'api_error';
    this.param = param ?? undefined;
    this.details = details;
  }
}

/** The platform could not be reached (offline, wrong URL, timeout): online operations need it. */
export class PlatformUnreachableError extends Error {
  override readonly name = 'PlatformUnreachableError';
  readonly code = 'platform_unreachable';

  constructor(url: string, cause: unknown) {
    super(`Cannot reach the platform at ${url}: ${(cause as Error)?.message ?? String(cause)}. Adding cards and sync need the network; paying does not.`);
  }
}
