// Application cryptograms (ARQC / TC / AAC) and the issuer's answer (ARPC), EMV Book 2 8.1-8.2.
//
// The card (the phone's payment applet) generates the cryptogram over the CDOL1 data with the
// AC session key; the issuer (the bank, or the platform's token service on its behalf) derives
// the same session key, recomputes and compares, then answers with an ARPC the card checks.
//
// Key choice for the ARPC: EMV lets the issuer use the card master key or the AC session key.
// Mi Pay Open uses the AC session key on both sides, the same key as the ARQC, so a
// transaction involves exactly one derived key end to end and the ARPC is bound to the ATC
// the same way the ARQC is. The functions take whichever key the caller passes.

import { timingSafeEqual } from 'node:crypto';
import assert from 'node:assert/strict';
import { assertKey, blockSizeOf, encryptEcb, xorBuffers, type CryptogramAlgorithm } from './algorithms.ts';
import { aesCmac } from './cmac.ts';
import { assertLength } from './errors.ts';
import { retailMac, sm4Mac } from './mac.ts';

/** ARQC, TC, AAC and ARPC (method 1) are 8 bytes for every algorithm family. */
export const APPLICATION_CRYPTOGRAM_BYTES = 8;
/** Authorisation Response Code (tag 8A) is 2 bytes, e.g. ASCII "00" = '3030'. */
export const ARC_BYTES = 2;

const SESSION_KEY_LENGTHS = [16];

/**
 * The MAC behind every application cryptogram, EMV Book 2 Annex A1.2 and 8.1.2:
 *   'tdes' — ISO/IEC 9797-1 MAC algorithm 3 (retail MAC), padding method 2 (A1.2.1);
 *   'aes'  — AES-CMAC (A1.2.2), leftmost 8 bytes;
 *   'sm4'  — SM4 CBC-MAC, padding method 2 (PBOC 3.0 SM), leftmost 8 bytes.
 */
export function applicationCryptogramMac(algorithm: CryptogramAlgorithm, sessionKey: Buffer, data: Buffer): Buffer {
  assertKey(algorithm, sessionKey, 'sessionKey', SESSION_KEY_LENGTHS);
  switch (algorithm) {
    case 'tdes':
      return retailMac(sessionKey, data, 2);
    case 'aes':
      return aesCmac(sessionKey, data).subarray(0, APPLICATION_CRYPTOGRAM_BYTES);
    case 'sm4':
      return sm4Mac(sessionKey, data).subarray(0, APPLICATION_CRYPTOGRAM_BYTES);
    default:
      return assert.fail(`unknown algorithm ${String(algorithm)}`);
  }
}

/**
 * Application cryptogram (ARQC, TC or AAC: the same computation, the type is in the CID),
 * EMV Book 2 8.1.2, over the transaction data the caller concatenated from CDOL1 — see
 * `buildRecommendedCryptogramData` for the EMV Book 2 8.1.1 recommended minimum set and order.
 */
export function generateApplicationCryptogram(algorithm: CryptogramAlgorithm, sessionKey: Buffer, transactionData: Buffer): Buffer {
  return applicationCryptogramMac(algorithm, sessionKey, transactionData);
}

function constantTimeEqual(expected: Buffer, received: Buffer): boolean {
  // The length is public (always 8 on the wire); only the content comparison must not leak.
  if (!Buffer.isBuffer(received) || received.length !== expected.length) return false;
  return timingSafeEqual(expected, received);
}

/**
 * Issuer-side check of an application cryptogram (EMV Book 2 8.1.2): recompute and compare in
 * constant time. A cryptogram of the wrong length is simply not valid (false).
 */
export function verifyApplicationCryptogram(
  algorithm: CryptogramAlgorithm,
  sessionKey: Buffer,
  transactionData: Buffer,
  cryptogram: Buffer,
): boolean {
  return constantTimeEqual(generateApplicationCryptogram(algorithm, sessionKey, transactionData), cryptogram);
}

/**
 * ARPC method 1, EMV Book 2 8.2.1: Y := ARC || '00'x6, X := ARQC xor Y.
 *   'tdes' (8-byte block): ARPC := 3DES(K)[X].
 *   'aes' / 'sm4' (16-byte block): X is padded on the right with '00'x8 to one block and the
 *   ARPC is the leftmost 8 bytes of ALG(K)[X || '00'x8].
 * `key` is the AC session key in Mi Pay Open (see the file header); the card master key also
 * works if both sides agree.
 */
export function generateArpcMethod1(algorithm: CryptogramAlgorithm, key: Buffer, arqc: Buffer, arc: Buffer): Buffer {
  assertKey(algorithm, key, 'key', SESSION_KEY_LENGTHS);
  assertLength(arqc, APPLICATION_CRYPTOGRAM_BYTES, 'arqc');
  assertLength(arc, ARC_BYTES, 'arc');
  const y = Buffer.concat([arc, Buffer.alloc(APPLICATION_CRYPTOGRAM_BYTES - ARC_BYTES)]);
  const x = xorBuffers(arqc, y);
  const block = Buffer.concat([x, Buffer.alloc(blockSizeOf(algorithm) - x.length)]);
  return encryptEcb(algorithm, key, block).subarray(0, APPLICATION_CRYPTOGRAM_BYTES);
}

/** Card-side check of an ARPC method 1 (EMV Book 2 8.2.1), compared in constant time. */
export function verifyArpcMethod1(algorithm: CryptogramAlgorithm, key: Buffer, arqc: Buffer, arc: Buffer, arpc: Buffer): boolean {
  return constantTimeEqual(generateArpcMethod1(algorithm, key, arqc, arc), arpc);
}
