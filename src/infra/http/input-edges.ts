// Input edges every route shares, checked once before any route's own validation: a NUL byte
// (PostgreSQL refuses it in text, which used to surface as a 500) or an impossible calendar date
// or time (2026-02-30, which JavaScript's Date silently rolls over to March 2) anywhere in the
// path parameters, the query or the JSON body is a 400 naming the field, and nothing runs.
import type { FastifyRequest } from 'fastify';
import { commonErrors, type ApiError } from './errors.ts';

/** Deeper JSON than this is no API request: refused before anything walks it further. */
export const inputDepthMax = 32;
/** Values (strings, numbers, objects…) looked at per request part; a 64 KiB body has far fewer. */
const inputValuesMax = 20_000;

/** `YYYY-MM-DD`, optionally followed by an ISO 8601 / RFC 3339 time of day and offset. */
const isoDateLike = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):?(\d{2}))?)?$/;

function daysInMonth(year: number, month: number): number {
  return month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** For a string shaped like an ISO date (or date-time): why it is not a real one; undefined when it is, or is no date. */
export function impossibleDate(text: string): string | undefined {
  const m = isoDateLike.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
  if (day < 1 || day > daysInMonth(year, month)) return `${m[1]}-${m[2]} has no day ${m[3]}`;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))) return 'the time of day does not exist';
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return 'the UTC offset does not exist';
  return undefined;
}

/** The first input edge in `value` (a parsed JSON body, query or params object), with the dotted path of the field. */
export function findInputEdge(value: unknown, base: string[] = []): ApiError | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: base }];
  let seen = 0;
  while (stack.length > 0) {
    const { value: item, path } = stack.pop()!;
    const param = path.join('.') || undefined;
    if (++seen > inputValuesMax) return commonErrors.body_invalid('The request holds more values than any API request needs.');
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return commonErrors.parameter_invalid(`${param ?? 'The request'}: contains a NUL byte.`, param);
      const why = impossibleDate(item);
      if (why) return commonErrors.parameter_invalid(`${param ?? 'The request'}: not a real date: ${why}.`, param);
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (path.length - base.length >= inputDepthMax) return commonErrors.parameter_invalid(`${param}: nested deeper than ${inputDepthMax} levels.`, param);
    // Pushed in reverse so the first field of the request is reported first.
    const entries = Object.entries(item);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (key.includes('\u0000')) return commonErrors.parameter_invalid(`${param ?? 'The request'}: a field name contains a NUL byte.`, param);
      stack.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

/** Checks path parameters, query and body of every request of `app` before its schema validation. */
/** The one hook this file adds (a port, so that it needs nothing of server.ts, which imports it). */
interface PreValidationHooks {
  addHook(name: 'preValidation', hook: (request: FastifyRequest) => Promise<void>): unknown;
}

export function registerInputEdges(app: PreValidationHooks): void {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    for (const part of [request.params, request.query, request.body]) {
      const edge = findInputEdge(part);
      if (edge) throw edge;
    }
  });
}
