// Session key derivation from the card master key and the ATC, so that every transaction's
// cryptogram is computed under a different key.
//
//   deriveCommonSessionKey — EMV Book 2 Annex A1.3.1, the default everywhere in Mi Pay Open.
//   derivePbocSessionKey   — the older PBOC 2.0 / UnionPay "过程密钥" derivation, kept for
//                            cards and terminals that still use it.

import { assertKey, blockSizeOf, encryptEcb, type CryptogramAlgorithm } from './algorithms.ts';
import { assertLength } from './errors.ts';
import { CARD_KEY_BYTES } from './key-derivation.ts';
import { adjustDesParity } from './keys.ts';

/** The ATC (tag 9F36) is 2 bytes, big-endian. */
export const ATC_BYTES = 2;

/**
 * EMV Book 2 A1.3.1 common session key derivation from an explicit n-byte diversification
 * value R (for application cryptograms R = ATC || '00'..'00'; some schemes use other R).
 *
 * 'tdes' (n = 8, k = 16 bytes, so 16n >= 8k > 8n):
 *   F1 := R0 || R1 || 'F0' || R3 .. R7,  F2 := R0 || R1 || '0F' || R3 .. R7,
 *   SK := 3DES(MK)[F1] || 3DES(MK)[F2], DES odd parity adjusted.
 * 'aes' / 'sm4' (n = 16, k = 16 bytes = n): SK := ALG(MK)[R].
 */
export function deriveCommonSessionKeyFromR(algorithm: CryptogramAlgorithm, cardMasterKey: Buffer, r: Buffer): Buffer {
  assertKey(algorithm, cardMasterKey, 'cardMasterKey', [CARD_KEY_BYTES]);
  const n = blockSizeOf(algorithm);
  assertLength(r, n, 'r');
  if (n === 16) return encryptEcb(algorithm, cardMasterKey, r);

  const f1 = Buffer.from(r);
  f1[2] = 0xf0;
  const f2 = Buffer.from(r);
  f2[2] = 0x0f;
  return adjustDesParity(encryptEcb(algorithm, cardMasterKey, Buffer.concat([f1, f2])));
}

/** R := ATC || '00'..'00' as an n-byte block (EMV Book 2 A1.3.1, AC session keys). */
export function commonSessionKeyDiversifier(algorithm: CryptogramAlgorithm, atc: Buffer): Buffer {
  assertLength(atc, ATC_BYTES, 'atc');
  const r = Buffer.alloc(blockSizeOf(algorithm));
  atc.copy(r, 0);
  return r;
}

/**
 * EMV Book 2 Annex A1.3.1 common session key derivation for application cryptograms:
 * SK from the card master key and the 2-byte ATC, with R = ATC || '00'..'00'.
 * For 3DES the two halves are thus 3DES(MK)[ATC||F0||00..00] and 3DES(MK)[ATC||0F||00..00].
 */
export function deriveCommonSessionKey(algorithm: CryptogramAlgorithm, cardMasterKey: Buffer, atc: Buffer): Buffer {
  return deriveCommonSessionKeyFromR(algorithm, cardMasterKey, commonSessionKeyDiversifier(algorithm, atc));
}

/**
 * PBOC 2.0 (JR/T 0025) legacy session ("process") key from the card master key and ATC:
 * 'tdes': SK := 3DES(MK)['00'x6 || ATC] || 3DES(MK)['00'x6 || (ATC xor 'FFFF')], parity adjusted.
 * 'aes' / 'sm4': the two 8-byte halves above form one 16-byte block,
 * SK := ALG(MK)['00'x6 || ATC || '00'x6 || (ATC xor 'FFFF')], in the way PBOC turns its other
 * 8-byte-block diversifications into 128-bit-block ones. No public vector was found for the
 * 16-byte form; it is tested by round trip only.
 */
export function derivePbocSessionKey(algorithm: CryptogramAlgorithm, cardMasterKey: Buffer, atc: Buffer): Buffer {
  assertKey(algorithm, cardMasterKey, 'cardMasterKey', [CARD_KEY_BYTES]);
  assertLength(atc, ATC_BYTES, 'atc');
  const left = Buffer.alloc(8);
  atc.copy(left, 6);
  const right = Buffer.alloc(8);
  right[6] = atc[0]! ^ 0xff;
  right[7] = atc[1]! ^ 0xff;
  const sk = encryptEcb(algorithm, cardMasterKey, Buffer.concat([left, right]));
  return algorithm === 'tdes' ? adjustDesParity(sk) : sk;
}
