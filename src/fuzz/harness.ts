// The fuzz harness: feeds a parser of untrusted bytes generated inputs and allows exactly two
// outcomes per input — the parser returns, or it throws one of the error classes its target
// declares "typed" (the errors its callers catch and turn into a refusal). Anything else — a
// TypeError from reading past a buffer, a RangeError, an assertion, a hang-free crash of any
// kind — fails the run with the input that caused it (fast-check shrinks it first).
import fc from 'fast-check';

/** An error class a parser may throw on bad input (its callers catch it and refuse the input). */
export type TypedError = abstract new (...args: any[]) => Error;

export interface FuzzTarget<T = Buffer> {
  /** Stable name, used by `npm run fuzz -- --target`. */
  name: string;
  /** What the parser reads and where those bytes come from. */
  description: string;
  /** The only errors allowed out of `parse`. */
  typedErrors: readonly TypedError[];
  /** Inputs: random bytes and mutations of valid samples (see bytesNear). */
  input: fc.Arbitrary<T>;
  /** Runs the parser the way its caller does. */
  parse(input: T): unknown;
  /** Cases in `npm test` when 10^5 would take too long (HTTP through app.inject); default 10^5. */
  testRuns?: number;
}

export interface FuzzResult {
  target: string;
  runs: number;
  /** Inputs the parser accepted. */
  accepted: number;
  /** Inputs refused with a typed error. */
  refused: number;
  /** 0 or 1: the run stops at the first untyped error. */
  untyped: number;
  seed: number;
  durationMs: number;
  /** The (shrunk) input and the error, when `untyped` is 1. */
  failure?: { input: string; error: string };
}

/** Runs `runs` cases of `target`; never throws for the parser's sake (the result says what happened). */
export function fuzz<T>(target: FuzzTarget<T>, runs: number, seed = randomSeed()): FuzzResult {
  let accepted = 0;
  let refused = 0;
  const started = performance.now();
  // Most cases end in a thrown error, and capturing its stack costs more than parsing; the
  // report names the error and its input, which is what reproduces it (with the seed).
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let details: fc.RunDetails<[T]>;
  try {
    details = runChecks();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  function runChecks() {
    return fc.check(fc.property(target.input, (input) => {
    try {
      target.parse(input);
      accepted++;
    } catch (error) {
      if (!target.typedErrors.some((typed) => error instanceof typed)) throw error;
      refused++;
    }
    }), { numRuns: runs, seed });
  }
  const result: FuzzResult = {
    target: target.name, runs: details.numRuns, accepted, refused, untyped: details.failed ? 1 : 0, seed: details.seed,
    durationMs: Math.round(performance.now() - started),
  };
  if (details.failed) {
    const cause = details.errorInstance;
    result.failure = {
      input: fc.stringify(details.counterexample?.[0]).slice(0, 2_000),
      error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
    };
  }
  return result;
}

/** A seed for fast-check when none is given (printed with the result, so a run can be repeated). */
export function randomSeed(): number {
  return Date.now() ^ (Math.random() * 0x7fffffff);
}

type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; count: number };

// Bytes that sit on the edges parsers get wrong: lengths' high bits, 0, FF, '0', '9', quotes.
const edgeByte = fc.oneof(
  fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x30, 0x39, 0x22, 0x0a, 0x20),
  fc.integer({ min: 0, max: 255 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: edgeByte }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
);

/** `seed` changed by `mutations`, positions taken modulo its length. */
export function mutate(seed: Buffer, mutations: readonly Mutation[], bytesMax: number): Buffer {
  let bytes = Buffer.from(seed);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.kind) {
      case 'set':
        if (bytes.length > 0) bytes[at] = m.byte;
        break;
      case 'flip':
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << m.bit);
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'duplicate':
        bytes = Buffer.concat([bytes.subarray(0, at + m.count), bytes.subarray(at)]);
        break;
    }
  }
  return bytes.length > bytesMax ? bytes.subarray(0, bytesMax) : bytes;
}

/**
 * Inputs for a byte parser: a quarter plain random bytes (up to `bytesMax`), three quarters
 * valid samples with up to 8 mutations each, so most cases get past the first checks and
 * reach the deeper code.
 */
export function bytesNear(seeds: readonly Buffer[], bytesMax = 1024): fc.Arbitrary<Buffer> {
  const random = fc.uint8Array({ maxLength: Math.min(bytesMax, 300) }).map((array) => Buffer.from(array));
  if (seeds.length === 0) return random;
  const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 8 }))
    .map(([seed, mutations]) => mutate(seed, mutations, bytesMax));
  return fc.oneof({ weight: 1, arbitrary: random }, { weight: 3, arbitrary: mutated });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

type JsonPath = (string | number)[];

function pathsOf(value: Json, prefix: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  }
  return out;
}

function replaceAt(value: Json, path: readonly (string | number)[], replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (replacement === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = replaceAt(copy[head as number]!, rest, replacement);
    return copy;
  }
  const copy = { ...(value as Record<string, Json>) };
  if (replacement === undefined && rest.length === 0) delete copy[head as string];
  else copy[head as string] = replaceAt(copy[head as string]!, rest, replacement);
  return copy;
}

// Replacement values: the types and edge values a reader must tell apart (fc.jsonValue is several
// times slower to generate and finds nothing more in these documents).
const scalar: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 53, '', '0', 'x'),
  fc.integer(), fc.string({ maxLength: 12 }),
);
const jsonValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom('a', 'batchId', 'atcs', 'keys', 'cards'), scalar, { maxKeys: 3 }),
  },
);

/**
 * JSON documents near a valid one: up to 4 of its values (any depth, the root included)
 * replaced by arbitrary JSON or removed, serialized. Reaches the checks after JSON.parse, which
 * byte mutations mostly stop short of.
 */
export function jsonNear(seed: Json): fc.Arbitrary<Buffer> {
  const paths = pathsOf(seed);
  const edit = fc.tuple(fc.nat({ max: paths.length - 1 }), fc.option(jsonValue, { freq: 5 }));
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let document = seed;
    for (const [which, replacement] of edits) {
      try {
        document = replaceAt(document, paths[which]!, replacement ?? undefined);
      } catch {
        // The path no longer exists after an earlier edit: skip this one.
      }
    }
    return Buffer.from(JSON.stringify(document) ?? 'null');
  });
}
