// The harness must be able to fail: an untyped error is reported with its input, a typed one
// is counted as a refusal, and mutate() stays within its bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesNear, fuzz, jsonNear, mutate } from './harness.ts';

class ParseError extends Error {}

describe('fuzz harness', () => {
  it('reports a parser that lets a RangeError out, with the input that did it', () => {
    const result = fuzz({
      name: 'sloppy', description: 'reads 4 bytes without checking', typedErrors: [ParseError],
      input: bytesNear([Buffer.from('01020304', 'hex')]), parse: (bytes: Buffer) => bytes.readUInt32BE(0),
    }, 1_000, 42);
    assert.equal(result.untyped, 1);
    assert.match(result.failure!.error, /RangeError/);
  });

  it('counts typed refusals and passes a parser that only throws its typed error', () => {
    const result = fuzz({
      name: 'careful', description: 'checks first', typedErrors: [ParseError],
      input: bytesNear([Buffer.from('01020304', 'hex')]),
      parse: (bytes: Buffer) => {
        if (bytes.length < 4) throw new ParseError('short');
        return bytes.readUInt32BE(0);
      },
    }, 2_000, 42);
    assert.deepEqual([result.untyped, result.runs, result.accepted + result.refused], [0, 2_000, 2_000]);
    assert.ok(result.refused > 0 && result.accepted > 0);
  });

  it('mutate keeps within bytesMax, and jsonNear yields JSON text', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (bytes, at) => {
      const grow = [{ kind: 'insert', at, bytes: new Uint8Array(100) }, { kind: 'duplicate', at, count: 64 }] as const;
      const out = mutate(Buffer.from(bytes), grow, 128);
      assert.ok(out.length <= 128);
    }));
    fc.assert(fc.property(jsonNear({ a: [1, { b: 'x' }], c: null }), (text) => {
      JSON.parse(text.toString('utf8'));
    }), { numRuns: 500 });
  });
});
