// The phone's side of the platform's REST API (`/v1`, JSON over HTTP with fetch). The phone is
// a separate party: it knows the platform only by its wire format, never by its code.
import { PlatformError, PlatformUnreachableError } from './errors.ts';

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
