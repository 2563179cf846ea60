// For tests: the full card numbers a database schema still holds, to show the network keeps none.
import { sql, type Kysely } from 'kysely';
import { isLuhnValid } from '../protocols/luhn.ts';

/**
 * Every Luhn-valid run of 13–19 digits starting 2–6 (bounded by neither digits nor letters) in any value of any table of
 * `schema`, and every one of `known` (card and token numbers the caller used) found anywhere in
 * a value, as `table.column: number`. Merchant ids (field 42, 15 digits) are Luhn-valid one time
 * in ten by chance: the ids in the schema's `terminals` table, if it has one, are not card numbers.
 */
export async function storedCardNumbers(
  root: Kysely<any>, schema: string, known: readonly string[] = [],
): Promise<string[]> {
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema = ${schema}`.execute(root);
  const found: string[] = [];
  const merchants = tables.rows.some((t) => t.table_name === 'terminals')
    ? new Set((await sql<{ merchant_id: string }>`select merchant_id from ${sql.table(`${schema}.terminals`)}`.execute(root)).rows
      .map((r) => r.merchant_id))
    : new Set<string>();
  for (const { table_name: table } of tables.rows) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(`${schema}.${table}`)}`.execute(root))
      .rows;
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || value instanceof Date) continue;
        const text = value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : String(value);
        // A payment card number's first digit (ISO/IEC 7812 major industry identifier) is 2–6, and
        // a number stands on its own: a Luhn-valid digit run inside a hex digest or hex-encoded
        // field (bounded by letters) is chance. Card numbers the caller used are looked for anywhere.
        for (const [number] of text.matchAll(/(?<![0-9A-Za-z])[2-6][0-9]{12,18}(?![0-9A-Za-z])/g)) {
          if (isLuhnValid(number) && !merchants.has(number)) found.push(`${table}.${column}: ${number}`);
        }
        for (const number of known) if (text.includes(number)) found.push(`${table}.${column}: ${number}`);
      }
    }
  }
  return [...new Set(found)];
}
