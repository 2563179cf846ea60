// ISO/IEC 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC) under one long-lived key, without a
// cipher set-up per message. On Node 20 (OpenSSL 3) every createCipheriv fetches the algorithm
// from its provider and schedules the key again: three of them per MAC cost about as much as the
// MAC's own DES work. A link key (a terminal's TAK, a zone MAK) MACs every message for hours,
// so its three ciphers are made once and only ever fed whole blocks (no padding, never final):
//   - the CBC chain keeps running across messages; OpenSSL's chaining value after a message is
//     its last ciphertext block, so a new message starts from IV 0 by XORing that block into
//     its first block (E_K(P1 ⊕ C_prev ⊕ C_prev) = E_K(P1 ⊕ 0));
//   - D_K' and E_K of the output transformation are ECB, one block each.
// A per-message key (an EMV session key) gains nothing from this and keeps using retailMac.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { assertKey } from './algorithms.ts';
import { MAC_DATA_BYTES_MAX, padIso9797, type Iso9797PaddingMethod } from './mac.ts';
import { CryptoInputError } from './errors.ts';

const blockBytes = 8;

/** One double-length 3DES key's retail MAC, with its ciphers set up once. Not for concurrent use across threads. */
export class RetailMacContext {
  readonly #chain: Cipher;
  readonly #decryptK2: Decipher;
  readonly #encryptK1: Cipher;
  /** The CBC chain's current chaining value (its last output block; zeros at first). */
  #chainingValue = Buffer.alloc(blockBytes);

  /** `key` is K||K' (16 bytes); single DES under each half is computed as 3DES with equal thirds. */
  constructor(key: Buffer) {
    assertKey('tdes', key, 'key', [16]);
    const k1 = key.subarray(0, 8);
    const k2 = key.subarray(8, 16);
    const triple = (k: Buffer) => Buffer.concat([k, k, k]);
    this.#chain = createCipheriv('des-ede3-cbc', triple(k1), Buffer.alloc(blockBytes)).setAutoPadding(false);
    this.#decryptK2 = createDecipheriv('des-ede3-ecb', triple(k2), null).setAutoPadding(false);
    this.#encryptK1 = createCipheriv('des-ede3-ecb', triple(k1), null).setAutoPadding(false);
  }

  /** The 8-byte MAC of `data` (same result as retailMac(key, data, padding)). */
  mac(data: Buffer, padding: Iso9797PaddingMethod): Buffer {
    if (!Buffer.isBuffer(data) || data.length > MAC_DATA_BYTES_MAX) {
      throw new CryptoInputError('data_length', `data must be a Buffer of at most ${MAC_DATA_BYTES_MAX} bytes`, 'data');
    }
    // padIso9797 always returns a new buffer, so its first block can be changed in place.
    const padded = padIso9797(data, blockBytes, padding);
    for (let i = 0; i < blockBytes; i++) padded[i] = padded[i]! ^ this.#chainingValue[i]!;
    const chained = this.#chain.update(padded);
    if (chained.length !== padded.length) throw new Error('the CBC chain held back a block'); // OpenSSL never does without padding
    const last = Buffer.from(chained.subarray(chained.length - blockBytes));
    this.#chainingValue = last;
    return this.#encryptK1.update(this.#decryptK2.update(last));
  }
}

/**
 * Contexts for the keys in use, by key bytes; at most `keysMax`, the least recently used
 * dropped first (a retired terminal key leaves as the new ones come in).
 */
export class RetailMacContexts {
  readonly #contexts = new Map<string, RetailMacContext>();
  readonly #keysMax: number;

  constructor(keysMax = 4096) {
    this.#keysMax = keysMax;
  }

  /** The context of `key` (16 bytes), made on first use. */
  of(key: Buffer): RetailMacContext {
    assertKey('tdes', key, 'key', [16]);
    const id = key.toString('latin1');
    let context = this.#contexts.get(id);
    if (context) {
      this.#contexts.delete(id);
    } else {
      context = new RetailMacContext(key);
      if (this.#contexts.size >= this.#keysMax) this.#contexts.delete(this.#contexts.keys().next().value!);
    }
    this.#contexts.set(id, context);
    return context;
  }
}
