// ICC (card) master key derivation from the issuer master key: EMV Book 2, Annex A1.4.1
// "Option A". The platform uses it to give every device card (token) its own key from one
// issuer master key, so the bank can recompute the card key from the PAN alone.

import { assertKey, encryptEcb, xorBuffers, type CryptogramAlgorithm } from './algorithms.ts';
import { CryptoInputError, assertPan } from './errors.ts';
import { adjustDesParity } from './keys.ts';

/** EMV derives double-length 3DES card keys and 128-bit AES/SM4 card keys. */
export const CARD_KEY_BYTES = 16;

const ALL_FF_8 = Buffer.alloc(8, 0xff);

/**
 * The 8-byte diversification value Y of EMV Book 2 A1.4.1: the digits of PAN || PSN, where an
 * absent PSN is '00'; if fewer than 16 digits, padded on the left with '0' digits; otherwise
 * the rightmost 16 digits; packed as BCD.
 */
export function optionADiversificationValue(pan: string, panSequenceNumber?: string): Buffer {
  assertPan(pan);
  const psn = panSequenceNumber ?? '00';
  if (!/^\d{2}$/.test(psn)) {
    throw new CryptoInputError('pan_format', 'PAN sequence number must be 2 decimal digits', 'panSequenceNumber');
  }
  const digits = (pan + psn).slice(-16).padStart(16, '0');
  return Buffer.from(digits, 'hex');
}

/**
 * ICC master key derivation, EMV Book 2 Annex A1.4.1 (Option A).
 *
 * 'tdes' (n = 8, the case A1.4.1 spells out): ZL := 3DES(IMK)[Y],
 * ZR := 3DES(IMK)[Y xor 'FF..FF'], MK := ZL || ZR with DES odd parity adjusted.
 *
 * 'aes' and 'sm4' (n = 16): one block, MK := ALG(IMK)[Y || (Y xor 'FF..FF')]. This is the
 * 128-bit-block form of the same construction as PBOC/UnionPay specify it for SM4
 * ("基于128位分组加密算法": Z := ALG(IMK)[Y || (Y xor FF..FF)]), and we use it for AES as
 * well. The EMV Book 2 text for the AES case was not available to check against and no
 * published AES vector was found: confirm against A1.4.1 of the current Book 2 before
 * interoperating with an outside AES issuer. No parity for AES/SM4.
 * The IMK is 128 bits for every family, so the card key is always 16 bytes.
 */
export function deriveIccMasterKeyOptionA(
  algorithm: CryptogramAlgorithm,
  issuerMasterKey: Buffer,
  pan: string,
  panSequenceNumber?: string,
): Buffer {
  assertKey(algorithm, issuerMasterKey, 'issuerMasterKey', [CARD_KEY_BYTES]);
  const y = optionADiversificationValue(pan, panSequenceNumber);
  const yInverted = xorBuffers(y, ALL_FF_8);
  const z = encryptEcb(algorithm, issuerMasterKey, Buffer.concat([y, yInverted]));
  // For 3DES the ECB call computes ZL and ZR as two independent 8-byte blocks; for the
  // 16-byte-block ciphers the same 16 input bytes form one block.
  return algorithm === 'tdes' ? adjustDesParity(z) : z;
}
