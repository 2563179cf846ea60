// Requests the phone signs with its device key (src/protocols/crypto/device-request.ts): the
// routes that mint limited-use keys keep the exact body bytes (the signature covers their hash),
// and hand the service what it needs to check the signature against the owning device's key.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEVICE_SIGNATURE_HEADER } from '../../protocols/crypto/device-request.ts';
import { errors } from '../errors.ts';

/** A request as sent, for checking its device signature. */
export interface SignedHttpRequest {
  method: string;
  path: string;
  body: Buffer;
  signatureHeader: string | undefined;
}

/** Signed requests are small JSON bodies; a larger one is refused before it is buffered. */
const signedBodyBytesMax = 4 * 1024;
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/**
 * A route-level `preParsing` hook: reads the body (at most 4 KiB), keeps its bytes for the
 * signature check, and hands Fastify's JSON parser the same bytes.
 */
export async function keepRawBody(request: FastifyRequest, _reply: FastifyReply, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += bytes.length;
    if (size > signedBodyBytesMax) throw errors.body_invalid(`A signed request body is at most ${signedBodyBytesMax} bytes.`);
    chunks.push(bytes);
  }
  const raw = Buffer.concat(chunks);
  rawBodies.set(request, raw);
  const replay = Readable.from(raw.length > 0 ? [raw] : []) as Readable & { receivedEncodedLength?: number };
  replay.receivedEncodedLength = raw.length;
  return replay;
}

/** The request as signed: method, path with query, the exact body bytes and the signature header. */
export function signedRequestOf(request: FastifyRequest): SignedHttpRequest {
  const header = request.headers[DEVICE_SIGNATURE_HEADER];
  return {
    method: request.method, path: request.url, body: rawBodies.get(request) ?? Buffer.alloc(0),
    signatureHeader: typeof header === 'string' ? header : undefined,
  };
}
