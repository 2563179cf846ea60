import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../hex.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import { FRAME_SIZE_MAX, FrameReader, FramingError, encodeFrame, readFrames } from './framing.ts';
import type { FramingErrorCode } from './framing.ts';

function assertFramingError(action: () => unknown, code: FramingErrorCode): void {
  assert.throws(action, (error: unknown) => error instanceof FramingError && error.code === code);
}

describe('frame encoding', () => {
  it('prefixes the payload with its 2-byte big-endian length', () => {
    assert.equal(toHex(encodeFrame(Buffer.from('0800'))), '000430383030');
    assert.equal(toHex(encodeFrame(Buffer.alloc(300)).subarray(0, 2)), '012C');
  });

  it('refuses what a reader would refuse', () => {
    assertFramingError(() => encodeFrame(Buffer.alloc(0)), 'empty_frame');
    assertFramingError(() => encodeFrame(Buffer.alloc(FRAME_SIZE_MAX + 1)), 'frame_too_large');
    assert.equal(encodeFrame(Buffer.alloc(5000), { frameSizeMax: 8000 }).length, 5002);
    assert.throws(() => new FrameReader({ frameSizeMax: 70_000 }), assert.AssertionError);
  });
});

describe('FrameReader', () => {
  it('reassembles a frame split across chunks, down to single bytes', () => {
    const reader = new FrameReader();
    const wire = encodeFrame(Buffer.from('hello'));
    const frames = [...wire].flatMap((byte) => reader.push(Buffer.from([byte])));
    assert.deepEqual(frames, [Buffer.from('hello')]);
    assert.equal(reader.bufferedBytes, 0);
    reader.end();
  });

  it('returns several frames from one chunk and keeps the partial rest', () => {
    const reader = new FrameReader();
    const wire = Buffer.concat([encodeFrame(Buffer.from('a')), encodeFrame(Buffer.from('bc')), encodeFrame(Buffer.from('def'))]);
    assert.deepEqual(reader.push(wire.subarray(0, wire.length - 1)), [Buffer.from('a'), Buffer.from('bc')]);
    assert.equal(reader.bufferedBytes, 4);
    assert.deepEqual(reader.push(wire.subarray(wire.length - 1)), [Buffer.from('def')]);
  });

  it('refuses a zero-length frame and a frame over frameSizeMax, then stays failed', () => {
    const empty = new FrameReader();
    assertFramingError(() => empty.push(fromHex('0000')), 'empty_frame');
    assertFramingError(() => empty.push(encodeFrame(Buffer.from('ok'))), 'empty_frame');

    const small = new FrameReader({ frameSizeMax: 16 });
    // The length alone is enough to refuse: no need to wait for (or buffer) the body.
    assertFramingError(() => small.push(fromHex('0011')), 'frame_too_large');
    assertFramingError(() => new FrameReader().push(fromHex('FFFF')), 'frame_too_large');
  });

  it('hands out the good frames before a bad length, then throws on the next call', () => {
    const reader = new FrameReader();
    const frames = reader.push(Buffer.concat([encodeFrame(Buffer.from('good')), fromHex('0000')]));
    assert.deepEqual(frames, [Buffer.from('good')]);
    assertFramingError(() => reader.push(Buffer.alloc(0)), 'empty_frame');
  });

  it('reports a stream that ends inside a frame', () => {
    const reader = new FrameReader();
    assert.deepEqual(reader.push(fromHex('0005 6869')), []);
    assertFramingError(() => reader.end(), 'truncated_frame');
  });
});

describe('readFrames', () => {
  it('yields the frames of an async byte stream', async () => {
    const wire = Buffer.concat([encodeFrame(Buffer.from('one')), encodeFrame(Buffer.from('two'))]);
    const chunks = [wire.subarray(0, 1), wire.subarray(1, 6), wire.subarray(6)];
    const frames: string[] = [];
    for await (const frame of readFrames(Readable.from(chunks))) frames.push(frame.toString());
    assert.deepEqual(frames, ['one', 'two']);
  });

  it('throws FramingError when the stream ends inside a frame', async () => {
    const frames = readFrames(Readable.from([fromHex('000A 01')]));
    await assert.rejects(async () => {
      for await (const frame of frames) assert.fail(`unexpected frame ${frame.length}`);
    }, FramingError);
  });

  it('carries ISO 8583 messages over a real TCP socket written in fragments', async () => {
    const received: string[] = [];
    let served: Promise<void> | undefined;
    const server = createServer((socket: Socket) => {
      served = (async () => {
        for await (const frame of readFrames(socket)) received.push(decodeMessage(frame).mti);
      })();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const client = createConnection(port, '127.0.0.1');
    await once(client, 'connect');
    const wire = Buffer.concat(
      ['0800', '0100', '0400'].map((mti) => encodeFrame(encodeMessage({ mti, fields: { 11: '000001' } }))),
    );
    client.setNoDelay(true);
    for (let offset = 0; offset < wire.length; offset += 7) {
      client.write(wire.subarray(offset, offset + 7));
      await new Promise((resolve) => setImmediate(resolve));
    }
    client.end();
    await once(client, 'close');
    await served;
    server.close();
    await once(server, 'close');
    assert.deepEqual(received, ['0800', '0100', '0400']);
  });
});

describe('framing properties', () => {
  it('any payloads, cut into any chunks, come back as the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          const wire = Buffer.concat(payloads.map((payload) => encodeFrame(Buffer.from(payload))));
          const reader = new FrameReader();
          const frames: Buffer[] = [];
          let offset = 0;
          for (let index = 0; offset < wire.length; index += 1) {
            const size = cuts[index % cuts.length]!;
            frames.push(...reader.push(wire.subarray(offset, offset + size)));
            offset += size;
          }
          reader.end();
          assert.deepStrictEqual(frames, payloads.map((payload) => Buffer.from(payload)));
          assert.ok(reader.bufferedBytes <= 2 + FRAME_SIZE_MAX);
        },
      ),
    );
  });

  it('random bytes only ever raise FramingError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), fc.integer({ min: 1, max: 64 }), (chunks, frameSizeMax) => {
        const reader = new FrameReader({ frameSizeMax });
        try {
          for (const chunk of chunks) {
            for (const frame of reader.push(Buffer.from(chunk))) assert.ok(frame.length >= 1 && frame.length <= frameSizeMax);
          }
          reader.end();
        } catch (error) {
          assert.ok(error instanceof FramingError, String(error));
        }
      }),
    );
  });
});
