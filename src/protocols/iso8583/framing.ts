// Message framing on TCP: every ISO 8583 message is preceded by its length as 2 bytes, big
// endian, excluding the prefix itself (the usual CUPS / host-to-host convention; ISO 8583
// leaves framing to the transport). TCP delivers a byte stream, so one read may hold half a
// frame or several frames; FrameReader reassembles them while never buffering more than one
// maximum-size frame, so a peer cannot make us hold unbounded memory.
import assert from 'node:assert/strict';

/** Default largest frame payload accepted; CUPS messages stay well under 2 KB. */
export const FRAME_SIZE_MAX = 4096;
const PREFIX_BYTES = 2;

export type FramingErrorCode =
  | 'frame_too_large' // announced length over frameSizeMax
  | 'empty_frame' // announced length 0
  | 'truncated_frame'; // the stream ended inside a frame

/** The one error framing throws. After it the stream is out of sync and must be closed. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  readonly code: FramingErrorCode;

  constructor(code: FramingErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface FrameOptions {
  /** Largest payload accepted, 1–65535 bytes. Default FRAME_SIZE_MAX. */
  frameSizeMax?: number;
}

function resolveFrameSizeMax(options: FrameOptions): number {
  const frameSizeMax = options.frameSizeMax ?? FRAME_SIZE_MAX;
  assert.ok(Number.isInteger(frameSizeMax) && frameSizeMax >= 1 && frameSizeMax <= 0xffff, 'frameSizeMax must be 1–65535');
  return frameSizeMax;
}

/**
 * Prefixes a payload with its 2-byte big-endian length. A payload that the receiving side
 * would refuse (empty, or over frameSizeMax) is a FramingError here too, so it never leaves.
 */
export function encodeFrame(payload: Buffer, options: FrameOptions = {}): Buffer {
  const frameSizeMax = resolveFrameSizeMax(options);
  if (payload.length === 0) throw new FramingError('empty_frame', 'empty payload');
  if (payload.length > frameSizeMax) {
    throw new FramingError('frame_too_large', `payload of ${payload.length} bytes over ${frameSizeMax}`);
  }
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.writeUInt16BE(payload.length);
  return Buffer.concat([prefix, payload]);
}

/**
 * Reassembles length-prefixed frames from stream chunks. Feed every chunk to `push`, which
 * returns the frames it completed (possibly none, possibly several); call `end` when the
 * stream closes to detect a frame cut short. The first error poisons the reader: the byte
 * stream can no longer be trusted to be aligned on frame boundaries.
 */
export class FrameReader {
  private readonly frameSizeMax: number;
  private pending: Buffer = Buffer.alloc(0);
  private failure: FramingError | undefined;

  constructor(options: FrameOptions = {}) {
    this.frameSizeMax = resolveFrameSizeMax(options);
  }

  /** Bytes received but not yet part of a complete frame (at most 2 + frameSizeMax). */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /**
   * Adds a chunk; returns the frames (payloads, without prefix) completed by it. When a bad
   * length follows good frames in the same chunk, the good frames are returned and the error
   * is thrown by the next call.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (data.length >= PREFIX_BYTES) {
      const length = data.readUInt16BE(0);
      const problem =
        length === 0
          ? new FramingError('empty_frame', 'frame of length 0')
          : length > this.frameSizeMax
            ? new FramingError('frame_too_large', `frame of ${length} bytes over ${this.frameSizeMax}`)
            : undefined;
      if (problem !== undefined) {
        this.failure = problem;
        this.pending = Buffer.alloc(0);
        if (frames.length > 0) return frames;
        throw problem;
      }
      if (data.length < PREFIX_BYTES + length) break;
      // Copied so that a frame never pins the (possibly much larger) chunk it arrived in.
      frames.push(Buffer.from(data.subarray(PREFIX_BYTES, PREFIX_BYTES + length)));
      data = data.subarray(PREFIX_BYTES + length);
    }
    this.pending = Buffer.from(data);
    return frames;
  }

  /** Declares the end of the stream; throws if a partial frame is left over. */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.pending.length > 0) {
      this.failure = new FramingError('truncated_frame', `stream ended inside a frame (${this.pending.length} bytes)`);
      this.pending = Buffer.alloc(0);
      throw this.failure;
    }
  }
}

/**
 * Yields the frames of a byte stream, e.g. a `net.Socket` (which is an async iterable of
 * Buffers). Throws FramingError on a bad frame or on a stream that ends inside a frame; the
 * caller should then destroy the socket.
 */
export async function* readFrames(source: AsyncIterable<Buffer>, options: FrameOptions = {}): AsyncGenerator<Buffer> {
  const reader = new FrameReader(options);
  for await (const chunk of source) {
    yield* reader.push(chunk);
  }
  reader.end();
}
