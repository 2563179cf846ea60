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
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers: {
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
          'user-agent': 'mipay-phone/1',
          ...request.headers,
        },
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
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
