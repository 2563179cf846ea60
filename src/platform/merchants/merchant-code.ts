// Merchant numbers (ISO 8583 field 42, 15 digits): '898310' (the sandbox acquirer and area), the
// MCC, and a 5-digit serial. The serial comes from one counter row, so two merchants never draw
// the same one (unique by construction until 100,000 merchants, when serials wrap); the unique
// index on `merchants.code` is the backstop, and a collision after a wrap draws the next serial.
import type { Kysely } from 'kysely';
import type { PlatformTables } from '../tables.ts';

const acquirerArea = '898310';
const serialModulus = 100_000;
/** Serials tried for one merchant before giving up (only ever more than one after a wrap). */
export const merchantCodeAttemptsMax = 20;

export function merchantCodeOf(mcc: string, serial: number): string {
  return `${acquirerArea}${mcc}${String(serial % serialModulus).padStart(5, '0')}`;
}

/** Takes the next serial (its own statement, committed at once: a serial is never handed out twice). */
async function nextSerial(db: Kysely<PlatformTables>): Promise<number> {
  const row = await db.updateTable('merchant_code_counter').set((eb) => ({ next_serial: eb('next_serial', '+', 1n) }))
    .where('id', '=', 1).returning('next_serial').executeTakeFirstOrThrow();
  return Number(row.next_serial) - 1;
}

function isCodeCollision(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string; message?: string };
  return e.code === '23505' && `${e.constraint ?? ''} ${e.message ?? ''}`.includes('merchants_code');
}

/** Runs `insert` with a fresh merchant code, again with the next serial if the code is taken. */
export async function withUniqueMerchantCode<T>(db: Kysely<PlatformTables>, mcc: string, insert: (code: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const code = merchantCodeOf(mcc, await nextSerial(db));
    try {
      return await insert(code);
    } catch (error) {
      if (!isCodeCollision(error) || attempt >= merchantCodeAttemptsMax) throw error;
    }
  }
}
