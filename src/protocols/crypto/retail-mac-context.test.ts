import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { retailMac } from './mac.ts';
import { RetailMacContext, RetailMacContexts } from './retail-mac-context.ts';

// pyemv tests/test_mac.py: mac_iso9797_3(K=AAAAAAAAAAAAAAAA, K'=BBBBBBBBBBBBBBBB, b"hello world", method).
const key = Buffer.from('AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB', 'hex');
const data = Buffer.from('hello world');

describe('RetailMacContext — ISO/IEC 9797-1 MAC algorithm 3 with its ciphers set up once', () => {
  it('gives the published vectors for padding methods 1, 2 and 3, message after message', () => {
    const context = new RetailMacContext(key);
    for (let round = 0; round < 3; round++) {
      assert.equal(context.mac(data, 1).toString('hex').toUpperCase(), '78DA3D3DEB48FD4D');
      assert.equal(context.mac(data, 2).toString('hex').toUpperCase(), '2BC2D9EDE0CF31F6');
      assert.equal(context.mac(data, 3).toString('hex').toUpperCase(), '1789FED38FC05D1B');
    }
  });

  it('equals retailMac for every length 0–300 and padding, with two keys interleaved (the chain restarts at IV 0)', () => {
    const other = randomBytes(16);
    const contexts = [new RetailMacContext(key), new RetailMacContext(other)];
    for (let length = 0; length <= 300; length++) {
      const message = randomBytes(length);
      for (const padding of [1, 2, 3] as const) {
        const which = (length + padding) % 2;
        assert.deepEqual(contexts[which]!.mac(message, padding), retailMac(which === 0 ? key : other, message, padding), `${length}/${padding}`);
      }
    }
  });

  it('refuses a key that is not 16 bytes and data over the limit with typed errors', () => {
    assert.throws(() => new RetailMacContext(Buffer.alloc(24)), { name: 'CryptoInputError', code: 'key_length' });
    assert.throws(() => new RetailMacContext(key).mac(Buffer.alloc(64 * 1024 + 1), 1), { name: 'CryptoInputError', code: 'data_length' });
  });
});

describe('RetailMacContexts', () => {
  it('keeps one context per key, at most keysMax, dropping the least recently used', () => {
    const contexts = new RetailMacContexts(2);
    const [a, b, c] = [randomBytes(16), randomBytes(16), randomBytes(16)];
    const first = contexts.of(a);
    assert.equal(contexts.of(Buffer.from(a)), first);
    contexts.of(b);
    contexts.of(a); // a is now the most recent; b goes when c comes
    contexts.of(c);
    assert.equal(contexts.of(a), first);
    assert.deepEqual(contexts.of(b).mac(data, 1), retailMac(b, data, 1));
  });
});
