import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkDestinationUrl, guardedLookup, type DestinationPolicy } from './destination.ts';

/**
 * One webhook POST: to a checked destination only (destination.ts, at connect time), no
 * redirects followed, the whole exchange bounded by `timeoutMs`. Answers the HTTP status;
 * throws on a refused destination, a network error or the timeout.
 */
export function postWebhook(url: string, input: { headers: Record<string, string>; body: string; timeoutMs: number; policy: DestinationPolicy }): Promise<number> {
  const target = checkDestinationUrl(url, input.policy);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const request = send(target, {
      method: 'POST',
      headers: { ...input.headers, 'content-length': Buffer.byteLength(input.body) },
      lookup: guardedLookup(input.policy),
      // A fresh connection each time: a pooled socket could outlive the check of the address it goes to.
      agent: false,
    }, (response) => {
      response.resume();
      response.once('end', () => {
        clearTimeout(timer);
        resolve(response.statusCode ?? 0);
      });
      response.once('error', fail);
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${input.timeoutMs} ms`)), input.timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    request.once('error', fail);
    request.end(input.body);
  });
}
