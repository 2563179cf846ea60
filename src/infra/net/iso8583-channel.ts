// ISO 8583 over TCP, both ends: a server that answers each framed request with the handler's
// response, and a client that multiplexes many requests on one persistent connection and
// matches answers to requests by terminal id (41) + system trace audit number (11), the way
// host-to-host links pair them. Shared by the bank's endpoint, the network and the POS, so it
// lives in infra; the message codec and the framing are the protocol code in src/protocols.
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Logger } from '../log/logger.ts';
import { decodeMessage, encodeMessage, Iso8583Error, type Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { encodeFrame, FrameReader, FramingError } from '../../protocols/iso8583/framing.ts';
import { CUPS_SPEC, NETWORK_MANAGEMENT_CODE, responseMti, type MessageSpec } from '../../protocols/iso8583/spec.ts';

/** Requests one connection may have in flight before the server stops reading from it. */
const inFlightPerConnectionMax = 2_000;
/** Requests a client may have waiting for answers; more are refused at once. */
const pendingMax = 20_000;
const connectTimeoutMs = 2_000;

export type Iso8583Handler = (request: Iso8583Message) => Promise<Iso8583Message | undefined>;

export interface Iso8583ServerOptions {
  name: string;
  handler: Iso8583Handler;
  logger: Logger;
  spec?: MessageSpec;
  /** Connections accepted at once (default 1,024). */
  connectionsMax?: number;
  /** Connections accepted at once from one peer address (default 64). */
  connectionsPerPeerMax?: number;
  /** A connection that completes no frame for this long is closed (default 120 s; persistent links echo). */
  idleTimeoutMs?: number;
  /** A frame whose first byte has arrived must be complete within this (default 5 s): a slow drip is closed. */
  frameTimeoutMs?: number;
}

/** What the server knows of one connection, to close the idle and the slow and to make room under its caps. */
interface ConnectionState {
  socket: net.Socket;
  peer: string;
  /** Complete frames received; a connection that never sent one is the first to go when a cap is reached. */
  frames: number;
  lastFrameAt: number;
  /** When the frame now being received started (undefined between frames). */
  partialSince: number | undefined;
  inFlight: number;
}

export interface Iso8583Server {
  listen(port: number, host?: string): Promise<{ host: string; port: number }>;
  address(): { host: string; port: number } | undefined;
  close(): Promise<void>;
}

/**
 * A TCP server speaking length-prefixed ISO 8583. Requests on one connection are handled
 * concurrently and answered as they complete. A message that cannot be decoded closes the
 * connection: after a framing or codec error the byte stream cannot be trusted.
 *
 * Sockets cost the attacker nothing, so each is bounded: a connection that completes no frame
 * for `idleTimeoutMs`, or takes longer than `frameTimeoutMs` to complete one it started, is
 * closed; connections are capped in total and per peer address, and when a cap is reached the
 * oldest connection that never completed a frame makes room for the newcomer (a terminal that
 * speaks keeps its line; a socket that only holds a slot loses it).
 */
export function createIso8583Server(options: Iso8583ServerOptions): Iso8583Server {
  const spec = options.spec ?? CUPS_SPEC;
  const connectionsMax = options.connectionsMax ?? 1_024;
  const perPeerMax = options.connectionsPerPeerMax ?? 64;
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  const frameTimeoutMs = options.frameTimeoutMs ?? 5_000;
  const connections = new Map<net.Socket, ConnectionState>();
  const sweepIntervalMs = Math.max(20, Math.min(idleTimeoutMs, frameTimeoutMs) / 4);
  let lastSweepAt = Date.now();
  const sweep = setInterval(() => {
    const now = Date.now();
    // Time this process spent not running timers (a stalled event loop: GC, a saturated CPU) is
    // time it was not reading either: the bytes may sit in the kernel, so no peer is charged for it.
    const stalledMs = Math.max(0, now - lastSweepAt - sweepIntervalMs);
    lastSweepAt = now;
    for (const c of connections.values()) {
      if (stalledMs > 0) {
        c.lastFrameAt += stalledMs;
        if (c.partialSince !== undefined) c.partialSince += stalledMs;
      }
      const idle = c.inFlight === 0 && now - c.lastFrameAt > idleTimeoutMs;
      const slow = c.partialSince !== undefined && now - c.partialSince > frameTimeoutMs;
      if (idle || slow) {
        options.logger.info({ channel: options.name, reason: slow ? 'frame_timeout' : 'idle_timeout' }, 'closing a connection');
        c.socket.destroy();
      }
    }
  }, sweepIntervalMs);
  sweep.unref();

  /** Room for one more connection from `peer`: true, possibly after closing a silent one. */
  function admit(peer: string): boolean {
    const peerCount = [...connections.values()].filter((c) => c.peer === peer).length;
    if (peerCount < perPeerMax && connections.size < connectionsMax) return true;
    const candidates = [...connections.values()].filter((c) => c.frames === 0 && (peerCount < perPeerMax || c.peer === peer));
    const oldest = candidates.sort((a, b) => a.lastFrameAt - b.lastFrameAt)[0];
    if (!oldest) return false;
    options.logger.warn({ channel: options.name }, 'connection cap reached: closing the oldest connection that never sent a frame');
    connections.delete(oldest.socket);
    oldest.socket.destroy();
    return true;
  }

  const server = net.createServer((socket) => {
    const peer = socket.remoteAddress ?? 'unknown';
    if (!admit(peer)) {
      options.logger.warn({ channel: options.name }, 'connection refused: the per-peer or total cap is reached by connections that speak');
      socket.destroy();
      return;
    }
    const state: ConnectionState = { socket, peer, frames: 0, lastFrameAt: Date.now(), partialSince: undefined, inFlight: 0 };
    connections.set(socket, state);
    socket.setNoDelay(true);
    const reader = new FrameReader();
    socket.on('close', () => connections.delete(socket));
    socket.on('error', (error) => options.logger.debug({ err: error, channel: options.name }, 'connection error'));
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        options.logger.warn({ err: error, channel: options.name }, 'bad frame; closing the connection');
        socket.destroy();
        return;
      }
      if (frames.length > 0) {
        state.frames += frames.length;
        state.lastFrameAt = Date.now();
        state.partialSince = undefined;
      }
      if (reader.bufferedBytes > 0) state.partialSince ??= Date.now();
      for (const frame of frames) {
        let request: Iso8583Message;
        try {
          request = decodeMessage(frame, spec);
        } catch (error) {
          options.logger.warn({ err: error, channel: options.name }, 'undecodable message; closing the connection');
          socket.destroy();
          return;
        }
        state.inFlight += 1;
        if (state.inFlight >= inFlightPerConnectionMax) socket.pause();
        options.handler(request).then((response) => {
          if (response && !socket.destroyed) writeCoalesced(socket, encodeFrame(encodeMessage(response, spec)));
        }, (error: unknown) => {
          options.logger.error({ err: error, channel: options.name, mti: request.mti }, 'handler failed');
        }).finally(() => {
          state.inFlight -= 1;
          state.lastFrameAt = Date.now();
          if (state.inFlight < inFlightPerConnectionMax && socket.isPaused()) socket.resume();
        });
      }
    });
  });
  let bound: { host: string; port: number } | undefined;
  return {
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as net.AddressInfo;
          bound = { host: address.address, port: address.port };
          resolve(bound);
        });
      });
    },
    address: () => bound,
    close() {
      clearInterval(sweep);
      return new Promise((resolve) => {
        for (const socket of connections.keys()) socket.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      });
    },
  };
}

const corked = new WeakSet<net.Socket>();

/**
 * Frames written in the same tick leave in one system call: under load many answers complete
 * together (a batched database statement resolves them at once), and one write per frame would
 * spend more time in the kernel than in the switch.
 */
function writeCoalesced(socket: net.Socket, frame: Buffer): void {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  socket.write(frame);
}

/** The peer did not answer in time, or could not be reached: the caller decides what that means. */
export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  /** `unauthenticated`: an answer came but its MAC does not verify (set by the layer that checks MACs). */
  readonly code: 'timeout' | 'unreachable' | 'busy' | 'closed' | 'unauthenticated';

  constructor(code: ChannelError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export interface Iso8583ClientOptions {
  host: string | (() => string);
  port: number | (() => number);
  spec?: MessageSpec;
  logger?: Logger;
  /**
   * Keeps a persistent link open across quiet spells: when nothing was sent for this long, an
   * 0800 echo test (field 70 = 301) goes out; an echo left unanswered closes the connection so
   * the next request opens a fresh one. Off when undefined.
   */
  keepAliveMs?: number;
}

export interface Iso8583Client {
  /** Sends a request and waits for the answer with the same MTI class, terminal id and STAN. */
  request(message: Iso8583Message, timeoutMs: number): Promise<Iso8583Message>;
  close(): Promise<void>;
}

/** The key that pairs a response with its request: response MTI, field 41 and field 11. */
function pairingKey(mti: string, message: Iso8583Message): string {
  return `${mti}|${String(message.fields[41] ?? '')}|${String(message.fields[11] ?? '')}`;
}

/**
 * One persistent connection, opened on first use and again after it drops. Answers arriving
 * after their request timed out are dropped (and logged): the caller has already acted on the
 * timeout, e.g. by sending a reversal.
 */
export function createIso8583Client(options: Iso8583ClientOptions): Iso8583Client {
  const spec = options.spec ?? CUPS_SPEC;
  const pending = new Map<string, { resolve: (m: Iso8583Message) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let socket: net.Socket | undefined;
  let connecting: Promise<net.Socket> | undefined;
  let closed = false;
  let lastSentAt = Date.now();
  let echoStan = 0;
  const keepAlive = options.keepAliveMs === undefined ? undefined : setInterval(() => {
    if (closed || !socket || socket.destroyed || Date.now() - lastSentAt < options.keepAliveMs!) return;
    const line = socket;
    echoStan = echoStan >= 999_999 ? 1 : echoStan + 1;
    const now = new Date().toISOString();
    const transmission = now.slice(5, 7) + now.slice(8, 10) + now.slice(11, 13) + now.slice(14, 16) + now.slice(17, 19);
    const echo: Iso8583Message = { mti: '0800', fields: { 7: transmission, 11: String(echoStan).padStart(6, '0'), 70: NETWORK_MANAGEMENT_CODE.ECHO_TEST } };
    client.request(echo, Math.min(options.keepAliveMs!, 10_000)).catch(() => {
      options.logger?.warn('echo test unanswered; closing the connection');
      line.destroy();
    });
  }, Math.max(50, Math.floor(options.keepAliveMs / 2)));
  keepAlive?.unref();

  function failAll(error: Error): void {
    for (const [key, entry] of pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
      pending.delete(key);
    }
  }

  function connect(): Promise<net.Socket> {
    if (socket && !socket.destroyed) return Promise.resolve(socket);
    connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const host = typeof options.host === 'function' ? options.host() : options.host;
      const port = typeof options.port === 'function' ? options.port() : options.port;
      const next = net.connect({ host, port });
      next.setNoDelay(true);
      const timer = setTimeout(() => next.destroy(new Error('connect timeout')), connectTimeoutMs);
      const reader = new FrameReader();
      next.once('connect', () => {
        clearTimeout(timer);
        socket = next;
        connecting = undefined;
        resolve(next);
      });
      next.on('error', (error) => {
        clearTimeout(timer);
        if (connecting) {
          connecting = undefined;
          reject(new ChannelError('unreachable', `cannot reach ${host}:${port}: ${error.message}`));
        }
      });
      next.on('close', () => {
        if (socket === next) socket = undefined;
        failAll(new ChannelError('unreachable', 'the connection closed before the answer came'));
      });
      next.on('data', (chunk: Buffer) => {
        try {
          for (const frame of reader.push(chunk)) {
            const response = decodeMessage(frame, spec);
            const key = pairingKey(response.mti, response);
            const entry = pending.get(key);
            if (!entry) {
              options.logger?.warn({ mti: response.mti, stan: response.fields[11] }, 'answer for no waiting request (late or unknown); dropped');
              continue;
            }
            pending.delete(key);
            clearTimeout(entry.timer);
            entry.resolve(response);
          }
        } catch (error) {
          assert.ok(error instanceof FramingError || error instanceof Iso8583Error, error as Error);
          options.logger?.warn({ err: error }, 'undecodable answer; closing the connection');
          next.destroy();
        }
      });
    });
    return connecting;
  }

  const client: Iso8583Client = {
    async request(message, timeoutMs) {
      if (closed) throw new ChannelError('closed', 'the client is closed');
      if (pending.size >= pendingMax) throw new ChannelError('busy', `${pendingMax} requests already waiting`);
      const key = pairingKey(responseMti(message.mti), message);
      if (pending.has(key)) throw new ChannelError('busy', 'a request with this terminal id and STAN is already waiting');
      const frame = encodeFrame(encodeMessage(message, spec));
      // The slot is taken before connecting, so a second request with the same key is refused, not swapped in.
      let settle!: { resolve: (m: Iso8583Message) => void; reject: (e: Error) => void };
      const answered = new Promise<Iso8583Message>((resolve, reject) => {
        settle = { resolve, reject };
      });
      // A refused connect rejects both `connect()` (thrown below) and, when the socket then closes,
      // `answered`, which nobody awaits in that case: observed here so it cannot crash the process.
      answered.catch(() => undefined);
      const timer = setTimeout(() => {
        pending.delete(key);
        settle.reject(new ChannelError('timeout', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(key, { ...settle, timer });
      try {
        const connection = await connect();
        if (pending.get(key)?.timer === timer) {
          lastSentAt = Date.now();
          writeCoalesced(connection, frame);
        }
      } catch (error) {
        if (pending.get(key)?.timer === timer) {
          clearTimeout(timer);
          pending.delete(key);
        }
        // The connection may have closed (rejecting the answer) before connect() failed: nobody waits for that answer now.
        answered.catch(() => undefined);
        throw error;
      }
      return answered;
    },
    async close() {
      closed = true;
      if (keepAlive) clearInterval(keepAlive);
      failAll(new ChannelError('closed', 'the client is closed'));
      socket?.destroy();
    },
  };
  return client;
}
