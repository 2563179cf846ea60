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
import { CUPS_SPEC, responseMti, type MessageSpec } from '../../protocols/iso8583/spec.ts';

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
  /** Connections accepted at once. */
  connectionsMax?: number;
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
 */
export function createIso8583Server(options: Iso8583ServerOptions): Iso8583Server {
  const spec = options.spec ?? CUPS_SPEC;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new FrameReader();
    let inFlight = 0;
    socket.on('close', () => sockets.delete(socket));
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
      for (const frame of frames) {
        let request: Iso8583Message;
        try {
          request = decodeMessage(frame, spec);
        } catch (error) {
          options.logger.warn({ err: error, channel: options.name }, 'undecodable message; closing the connection');
          socket.destroy();
          return;
        }
        inFlight += 1;
        if (inFlight >= inFlightPerConnectionMax) socket.pause();
        options.handler(request).then((response) => {
          if (response && !socket.destroyed) writeCoalesced(socket, encodeFrame(encodeMessage(response, spec)));
        }, (error: unknown) => {
          options.logger.error({ err: error, channel: options.name, mti: request.mti }, 'handler failed');
        }).finally(() => {
          inFlight -= 1;
          if (inFlight < inFlightPerConnectionMax && socket.isPaused()) socket.resume();
        });
      }
    });
  });
  server.maxConnections = options.connectionsMax ?? 256;
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
      return new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
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
  readonly code: 'timeout' | 'unreachable' | 'busy' | 'closed';

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

  return {
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
        if (pending.get(key)?.timer === timer) writeCoalesced(connection, frame);
      } catch (error) {
        if (pending.get(key)?.timer === timer) {
          clearTimeout(timer);
          pending.delete(key);
        }
        throw error;
      }
      return answered;
    },
    async close() {
      closed = true;
      failAll(new ChannelError('closed', 'the client is closed'));
      socket?.destroy();
    },
  };
}
