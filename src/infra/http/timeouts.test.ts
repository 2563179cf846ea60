// The HTTP server's time limits and its authentication-before-body rule, over real sockets.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { createLogger } from '../log/logger.ts';
import { commonErrors } from './errors.ts';
import { authenticationHook, createHttpApp, type App } from './server.ts';

let app: App;
let port = 0;
let bodiesParsed = 0;

before(async () => {
  app = await createHttpApp({
    party: 'test', title: 't', description: 't', version: '0', logger: createLogger({ name: 't', level: 'silent' }),
    timeouts: { headersTimeoutMs: 500, requestTimeoutMs: 1_000, keepAliveTimeoutMs: 500, connectionTimeoutMs: 5_000 },
  });
  const requireKey = authenticationHook(async (request: { headers: Record<string, unknown> }) => {
    if (request.headers.authorization !== 'Bearer right') throw commonErrors.authentication_required('key needed');
  });
  app.post('/v1/guarded', {
    preHandler: requireKey,
    preValidation: async () => { bodiesParsed += 1; },
    schema: { body: z.object({ n: z.number() }) },
  }, async (request) => request.body);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  port = Number(new URL(url).port);
});

after(() => app.close());

/** Opens a socket; answers what the server sent and when the server closed it. */
function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, received: () => text, closed }));
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.on('data', (chunk) => { text += String(chunk); });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

function drip(socket: Socket, text: string, everyMs: number): NodeJS.Timeout {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length || socket.destroyed) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  return timer;
}

test('a client dripping its headers a byte at a time is cut off after the headers timeout', async () => {
  const { socket, closed } = await open();
  socket.write('POST /v1/guarded HTTP/1.1\r\nHost: x\r\n');
  const timer = drip(socket, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 100);
  const ms = await closed;
  clearInterval(timer);
  assert.ok(ms < 3_000, `closed after ${ms} ms`);
});

test('a client dripping its body is cut off after the request timeout', async () => {
  const { socket, closed } = await open();
  socket.write('POST /v1/guarded HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer right\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n');
  const timer = drip(socket, `{"n":1${' '.repeat(190)}}`, 100);
  const ms = await closed;
  clearInterval(timer);
  assert.ok(ms < 4_000, `closed after ${ms} ms`);
  assert.equal(bodiesParsed, 0);
});

test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
  const { socket, received, closed } = await open();
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const ms = await closed;
  assert.match(received(), /^HTTP\/1.1 200/);
  assert.ok(ms < 2_500, `closed after ${ms} ms`);
});

test('authentication runs before the body is read: a wrong key is refused while the body is still unsent', async () => {
  const { socket, received, closed } = await open();
  socket.write('POST /v1/guarded HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{');
  const deadline = Date.now() + 2_000;
  while (!received().includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.match(received(), /^HTTP\/1.1 401/);
  assert.match(received(), /authentication_required/);
  assert.equal(bodiesParsed, 0);
  socket.destroy();
  await closed;
  const right = await app.inject({ method: 'POST', url: '/v1/guarded', headers: { authorization: 'Bearer right' }, payload: { n: 2 } });
  assert.deepEqual([right.statusCode, right.json()], [200, { n: 2 }]);
  assert.equal(bodiesParsed, 1, 'the route parses bodies once authenticated');
});
