// CMAC (NIST SP 800-38B; for AES-128 also RFC 4493) over a 128-bit block cipher.
// EMV Book 2 A1.2.2 uses AES-CMAC for AES application cryptograms. SM4 is accepted too since
// it has the same block length, though the cryptograms here use the SM4 CBC-MAC instead.

import { assertKey, encryptCbc, encryptEcb, xorBuffers } from './algorithms.ts';
import { CryptoInputError } from './errors.ts';
import { MAC_DATA_BYTES_MAX } from './mac.ts';

export type CmacAlgorithm = 'aes' | 'sm4';

const BLOCK_BYTES = 16;
// R_128 from SP 800-38B 5.3: the constant folded in when doubling a block shifts out a 1 bit.
const RB_128 = 0x87;

function doubleBlock(block: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK_BYTES);
  let carry = 0;
  for (let i = BLOCK_BYTES - 1; i >= 0; i--) {
    const byte = block[i]!;
    out[i] = ((byte << 1) | carry) & 0xff;
    carry = byte >> 7;
  }
  if (carry !== 0) out[BLOCK_BYTES - 1] = out[BLOCK_BYTES - 1]! ^ RB_128;
  return out;
}

/** CMAC subkey generation (NIST SP 800-38B 6.1; RFC 4493 2.3): L = E_K(0), K1 = 2L, K2 = 4L. */
export function cmacSubkeys(algorithm: CmacAlgorithm, key: Buffer): { k1: Buffer; k2: Buffer } {
  assertKey(algorithm, key);
  const l = encryptEcb(algorithm, key, Buffer.alloc(BLOCK_BYTES));
  const k1 = doubleBlock(l);
  return { k1, k2: doubleBlock(k1) };
}

/** CMAC generation (NIST SP 800-38B 6.2; RFC 4493 2.4). Returns the full 16-byte tag. */
export function cmac(algorithm: CmacAlgorithm, key: Buffer, data: Buffer): Buffer {
  assertKey(algorithm, key);
  if (!Buffer.isBuffer(data) || data.length > MAC_DATA_BYTES_MAX) {
    throw new CryptoInputError('data_length', `data must be a Buffer of at most ${MAC_DATA_BYTES_MAX} bytes`, 'data');
  }
  const { k1, k2 } = cmacSubkeys(algorithm, key);
  const complete = data.length > 0 && data.length % BLOCK_BYTES === 0;
  const blockCount = complete ? data.length / BLOCK_BYTES : Math.floor(data.length / BLOCK_BYTES) + 1;
  const lastStart = (blockCount - 1) * BLOCK_BYTES;

  // A complete last block is masked with K1; a partial (or empty) one is padded 10* and
  // masked with K2, so the two cases can never collide.
  let last: Buffer;
  if (complete) {
    last = xorBuffers(data.subarray(lastStart), k1);
  } else {
    const padded = Buffer.alloc(BLOCK_BYTES);
    data.copy(padded, 0, lastStart);
    padded[data.length - lastStart] = 0x80;
    last = xorBuffers(padded, k2);
  }

  const message = Buffer.concat([data.subarray(0, lastStart), last]);
  const chained = encryptCbc(algorithm, key, Buffer.alloc(BLOCK_BYTES), message);
  return chained.subarray(chained.length - BLOCK_BYTES);
}

/** AES-CMAC (RFC 4493; NIST SP 800-38B with AES). Returns the full 16-byte tag. */
export function aesCmac(key: Buffer, data: Buffer): Buffer {
  return cmac('aes', key, data);
}
