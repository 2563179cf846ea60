// E-purse keys: the card's keys diversified from the operator's master keys by card number, and
// the one-transaction session ("process", 过程密钥) keys the card and the PSAM or the issuer
// both derive. JR/T 0025.2 (PBOC e-purse) for 3DES; JT/T 978 (T-Union) lets a brand use SM4.
import assert from 'node:assert/strict';
import { encryptEcb } from '../crypto/index.ts';

/** The block ciphers an e-purse brand may use. */
export type EpurseAlgorithm = 'tdes' | 'sm4';

/** The algorithm identifier a card returns in INITIALIZE (JR/T 0025.2: 00 3DES; JT/T 978: 04 SM4). */
export const ALGORITHM_ID: Readonly<Record<EpurseAlgorithm, number>> = { tdes: 0x00, sm4: 0x04 };

/** The algorithm named by an INITIALIZE response's identifier, or undefined for an unknown one. */
export function algorithmFromId(id: number): EpurseAlgorithm | undefined {
  if (id === ALGORITHM_ID.tdes) return 'tdes';
  if (id === ALGORITHM_ID.sm4) return 'sm4';
  return undefined;
}

/** Card keys and master keys are 16 bytes for both algorithms (double-length 3DES, SM4). */
export const EPURSE_KEY_BYTES = 16;

const not = (bytes: Buffer): Buffer => Buffer.from(bytes.map((b) => b ^ 0xff));

/** The diversification data: the rightmost 8 bytes of the 10-byte application serial number (file 0x15). */
export function diversificationData(cardNumber: string): Buffer {
  assert.match(cardNumber, /^[0-9]{16,20}$/, 'an e-purse card number is 16–20 digits');
  const bcd = Buffer.from(cardNumber.padStart(20, '0'), 'hex');
  return bcd.subarray(2);
}

/**
 * A card key (purchase, load or TAC key) from the operator's master key (JR/T 0025.2 annex,
 * key diversification): left = ALG(MK)[D], right = ALG(MK)[not D], D the 8-byte card data.
 * With SM4's 16-byte block, D ‖ not D is one block and the key is ALG(MK)[D ‖ not D].
 */
export function diversifyCardKey(algorithm: EpurseAlgorithm, masterKey: Buffer, cardNumber: string): Buffer {
  assert.equal(masterKey.length, EPURSE_KEY_BYTES, 'an e-purse master key is 16 bytes');
  const data = diversificationData(cardNumber);
  return encryptEcb(algorithm, masterKey, Buffer.concat([data, not(data)]));
}

/**
 * The session key from 8 bytes of input (JR/T 0025.2, 过程密钥): for 3DES, 3DES(card key)[input],
 * an 8-byte single-DES key; for SM4 (JT/T 978) the input is widened to one block as
 * input ‖ not input, and the key is SM4(card key)[that], 16 bytes.
 */
function sessionKey(algorithm: EpurseAlgorithm, cardKey: Buffer, input: Buffer): Buffer {
  assert.equal(cardKey.length, EPURSE_KEY_BYTES, 'an e-purse card key is 16 bytes');
  assert.equal(input.length, 8);
  return encryptEcb(algorithm, cardKey, algorithm === 'tdes' ? input : Buffer.concat([input, not(input)]));
}

/**
 * Purchase session key (JR/T 0025.2, purchase): from the card's purchase key and
 * card random (4) ‖ offline ATC (2) ‖ the rightmost 2 bytes of the terminal transaction number.
 */
export function purchaseSessionKey(algorithm: EpurseAlgorithm, purchaseKey: Buffer, input: {
  random: Buffer; offlineSeq: number; terminalSeq: number;
}): Buffer {
  assert.equal(input.random.length, 4);
  const data = Buffer.alloc(8);
  input.random.copy(data, 0);
  data.writeUInt16BE(input.offlineSeq, 4);
  data.writeUInt16BE(input.terminalSeq & 0xffff, 6);
  return sessionKey(algorithm, purchaseKey, data);
}

/** Load session key (JR/T 0025.2, load): from the load key and card random (4) ‖ online ATC (2) ‖ 80 00. */
export function loadSessionKey(algorithm: EpurseAlgorithm, loadKey: Buffer, input: { random: Buffer; onlineSeq: number }): Buffer {
  assert.equal(input.random.length, 4);
  const data = Buffer.alloc(8);
  input.random.copy(data, 0);
  data.writeUInt16BE(input.onlineSeq, 4);
  data.writeUInt16BE(0x8000, 6);
  return sessionKey(algorithm, loadKey, data);
}

/**
 * The key a TAC is computed under (JR/T 0025.2, TAC): for 3DES the left and right halves of the
 * card's TAC key XORed into one single-DES key; for SM4 the TAC key itself.
 */
export function tacSessionKey(algorithm: EpurseAlgorithm, tacKey: Buffer): Buffer {
  assert.equal(tacKey.length, EPURSE_KEY_BYTES, 'an e-purse TAC key is 16 bytes');
  if (algorithm === 'sm4') return Buffer.from(tacKey);
  return Buffer.from(tacKey.subarray(0, 8).map((b, i) => b ^ tacKey[8 + i]!));
}
