// The e-purse MACs (JR/T 0025.2 annex, MAC and TAC calculation): a CBC-MAC with a zero initial
// vector over the data padded with 80 00 … (ISO/IEC 9797-1 method 2, so 80 is always added),
// the leftmost 4 bytes kept. Under a 3DES session key (8 bytes) the cipher is single DES; under
// an SM4 one, SM4 with 16-byte blocks. The transaction data each MAC covers is laid out here.
import assert from 'node:assert/strict';
import { cbcMac, desEncrypt, padIso9797 } from '../crypto/index.ts';
import type { EpurseAlgorithm } from './keys.ts';

/** Transaction type identifiers (JR/T 0025.2): 02 e-purse load, 06 e-purse purchase, 09 composite (CAPP) purchase. */
export const TRANSACTION_TYPE = { load: 0x02, purchase: 0x06, cappPurchase: 0x09 } as const;
export type TransactionTypeId = (typeof TRANSACTION_TYPE)[keyof typeof TRANSACTION_TYPE];

/** MAC1, MAC2 and TAC are 4 bytes. */
export const EPURSE_MAC_BYTES = 4;

/** The e-purse MAC of `data` under a session key (JR/T 0025.2 annex): 4 bytes. */
export function epurseMac(algorithm: EpurseAlgorithm, sessionKey: Buffer, data: Buffer): Buffer {
  if (algorithm === 'tdes') {
    assert.equal(sessionKey.length, 8, 'a 3DES e-purse session key is 8 bytes (single DES)');
    const chained = desEncrypt(sessionKey, padIso9797(data, 8, 2), Buffer.alloc(8));
    return Buffer.from(chained.subarray(chained.length - 8, chained.length - 4));
  }
  assert.equal(sessionKey.length, 16, 'an SM4 e-purse session key is 16 bytes');
  return Buffer.from(cbcMac('sm4', sessionKey, data, 2).subarray(0, EPURSE_MAC_BYTES));
}

const amount = (fen: bigint): Buffer => {
  assert.ok(fen >= 0n && fen <= 0xffffffffn, 'an e-purse amount fits 4 bytes');
  const b = Buffer.alloc(4);
  b.writeUInt32BE(Number(fen));
  return b;
};
const uint = (value: number, bytes: number): Buffer => {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return b;
};
const bcd = (digits: string, bytes: number): Buffer => {
  assert.ok(digits.length === bytes * 2 && /^[0-9]+$/.test(digits), `BCD of ${bytes * 2} digits`);
  return Buffer.from(digits, 'hex');
};

/** What one purchase is: the fields every purchase MAC and the TAC cover. */
export interface PurchaseFacts {
  amountFen: bigint;
  transactionType: TransactionTypeId;
  /** The PSAM's terminal number, 6 bytes. */
  terminalId: Buffer;
  terminalSeq: number;
  /** YYYYMMDD and HHMMSS. */
  date: string;
  time: string;
}

/** Purchase MAC1 data, computed by the PSAM (JR/T 0025.2): amount ‖ type ‖ terminal id ‖ date ‖ time. */
export function purchaseMac1Data(f: PurchaseFacts): Buffer {
  assert.equal(f.terminalId.length, 6);
  return Buffer.concat([amount(f.amountFen), Buffer.from([f.transactionType]), f.terminalId, bcd(f.date, 4), bcd(f.time, 3)]);
}

/** Purchase MAC2 data, computed by the card once it has debited: the amount. */
export function purchaseMac2Data(amountFen: bigint): Buffer {
  return amount(amountFen);
}

/** Purchase TAC data (JR/T 0025.2): amount ‖ type ‖ terminal id ‖ terminal transaction number ‖ date ‖ time. */
export function purchaseTacData(f: PurchaseFacts): Buffer {
  assert.equal(f.terminalId.length, 6);
  return Buffer.concat([
    amount(f.amountFen), Buffer.from([f.transactionType]), f.terminalId, uint(f.terminalSeq, 4), bcd(f.date, 4), bcd(f.time, 3),
  ]);
}

/** What one load is. */
export interface LoadFacts {
  amountFen: bigint;
  terminalId: Buffer;
  date: string;
  time: string;
}

/** Load MAC1 data, computed by the card (JR/T 0025.2): balance before ‖ amount ‖ type 02 ‖ terminal id. */
export function loadMac1Data(input: { balanceFen: bigint; amountFen: bigint; terminalId: Buffer }): Buffer {
  assert.equal(input.terminalId.length, 6);
  return Buffer.concat([amount(input.balanceFen), amount(input.amountFen), Buffer.from([TRANSACTION_TYPE.load]), input.terminalId]);
}

/** Load MAC2 data, computed by the issuer: amount ‖ type 02 ‖ terminal id ‖ date ‖ time. */
export function loadMac2Data(f: LoadFacts): Buffer {
  assert.equal(f.terminalId.length, 6);
  return Buffer.concat([amount(f.amountFen), Buffer.from([TRANSACTION_TYPE.load]), f.terminalId, bcd(f.date, 4), bcd(f.time, 3)]);
}

/** Load TAC data: new balance ‖ online ATC before the load ‖ amount ‖ type 02 ‖ terminal id ‖ date ‖ time. */
export function loadTacData(f: LoadFacts & { newBalanceFen: bigint; onlineSeq: number }): Buffer {
  return Buffer.concat([amount(f.newBalanceFen), uint(f.onlineSeq, 2), loadMac2Data(f)]);
}
