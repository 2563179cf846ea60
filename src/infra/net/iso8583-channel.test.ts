import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { createLogger } from '../log/logger.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { ChannelError, createIso8583Client, createIso8583Server, type Iso8583Server } from './iso8583-channel.ts';

const logger = createLogger({ name: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
let server: Iso8583Server;
let port = 0;

const request = (stan: string, extra: Record<number, string> = {}): Iso8583Message => ({ mti: '0800', fields: { 11: stan, 41: 'TERM0001', 70: '301', ...extra } });

before(async () => {
  server = createIso8583Server({
    name: 'echo', logger,
    handler: async (message) => {
      if (message.fields[70] === '999') return undefined; // never answers
      // Later requests may be answered first: pairing is by terminal id + STAN, not by order.
      await new Promise((resolve) => setTimeout(resolve, Number(message.fields[11]) % 3 * 10));
      return { mti: '0810', fields: { ...message.fields, 39: '00' } };
    },
  });
  port = (await server.listen(0)).port;
});

after(() => server.close());

describe('ISO 8583 over TCP', () => {
  it('pairs many concurrent answers with their requests on one connection', async () => {
    const client = createIso8583Client({ host: '127.0.0.1', port });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => client.request(request(String(i + 1).padStart(6, '0')), 5_000)));
    answers.forEach((answer, i) => {
      assert.equal(answer.mti, '0810');
      assert.equal(answer.fields[11], String(i + 1).padStart(6, '0'));
    });
    await client.close();
  });

  it('times out a request that gets no answer, and refuses a second one with the same key while the first waits', async () => {
    const client = createIso8583Client({ host: '127.0.0.1', port });
    const silent = client.request(request('000777', { 70: '999' }), 200);
    await assert.rejects(client.request(request('000777', { 70: '999' }), 200), (error: unknown) => error instanceof ChannelError && error.code === 'busy');
    await assert.rejects(silent, (error: unknown) => error instanceof ChannelError && error.code === 'timeout');
    await client.close();
  });

  it('reports an unreachable peer as a ChannelError', async () => {
    const client = createIso8583Client({ host: '127.0.0.1', port: 1 });
    await assert.rejects(client.request(request('000001'), 1_000), (error: unknown) => error instanceof ChannelError && error.code === 'unreachable');
    await client.close();
  });

  it('closes a connection that sends a bad frame, and keeps serving others', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(Buffer.from([0x00, 0x05, 0x30, 0x38, 0x30, 0x30, 0xff])); // MTI then a truncated bitmap
    await closed;
    const client = createIso8583Client({ host: '127.0.0.1', port });
    assert.equal((await client.request(request('000002'), 5_000)).fields[39], '00');
    await client.close();
  });
});

describe('ISO 8583 server limits: idle, slow drip, per-peer cap, keep-alive', () => {
  let limited: Iso8583Server;
  let limitedPort = 0;
  const echo = async (message: Iso8583Message): Promise<Iso8583Message> => ({ mti: '0810', fields: { ...message.fields, 39: '00' } });

  const closings: string[] = [];
  const recorder = createLogger({ name: 'test', level: 'info', destination: new Writable({ write: (chunk, _e, done) => {
    const line = JSON.parse(String(chunk)) as { msg: string; reason?: string };
    if (line.msg === 'closing a connection') closings.push(line.reason ?? '');
    done();
  } }) });

  before(async () => {
    limited = createIso8583Server({ name: 'limited', logger: recorder, handler: echo, idleTimeoutMs: 400, frameTimeoutMs: 300, connectionsPerPeerMax: 5 });
    limitedPort = (await limited.listen(0)).port;
  });
  after(() => limited.close());

  const connect = async (): Promise<{ socket: net.Socket; closed: Promise<number> }> => {
    const socket = net.connect({ host: '127.0.0.1', port: limitedPort });
    const opened = Date.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    return { socket, closed };
  };

  it('closes a connection that never sends a byte after the idle timeout', async () => {
    const { closed } = await connect();
    const afterMs = await closed;
    assert.ok(afterMs >= 350 && afterMs < 2_000, `closed after ${afterMs} ms`);
  });

  it('closes a slow drip: a frame still incomplete after the frame timeout, though bytes keep coming', async () => {
    const { socket, closed } = await connect();
    const frame = Buffer.from([0x00, 0x30, ...Buffer.from('0800')]);
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < frame.length && !socket.destroyed) socket.write(frame.subarray(sent, ++sent));
    }, 60);
    const afterMs = await closed;
    clearInterval(drip);
    assert.ok(afterMs >= 250 && afterMs < 1_500, `closed after ${afterMs} ms`);
  });

  it('at the per-peer cap, a newcomer takes the slot of the oldest connection that never completed a frame; a speaking one keeps its line', async () => {
    const speaking = createIso8583Client({ host: '127.0.0.1', port: limitedPort, keepAliveMs: 100 });
    assert.equal((await speaking.request(request('000001'), 2_000)).fields[39], '00');
    const silent = await Promise.all(Array.from({ length: 4 }, () => connect()));
    const newcomer = await connect();
    // The oldest silent socket was closed to make room; the newcomer, and the speaking client, are served.
    await Promise.race([silent[0]!.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('no room was made')), 1_000))]);
    for (const { socket } of [...silent, newcomer]) socket.destroy();
    // Past the idle timeout twice over: the keep-alive echoes keep the speaking client's connection open.
    closings.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 900));
    assert.deepEqual(closings, [], 'the server closed no connection');
    assert.equal((await speaking.request(request('000002'), 2_000)).fields[39], '00');
    await speaking.close();
  });
});
