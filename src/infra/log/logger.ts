import { join } from 'node:path';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names whose values never reach a log line, whatever object they appear in.
 * Matched case-insensitively on the whole key, after removing `_` and `-`.
 */
const secretKeys = new Set([
  'password', 'paymentpassword', 'newpassword', 'oldpassword', 'passwordhash',
  'smscode', 'otp', 'verificationcode', 'pin', 'pinblock', 'cvv', 'cvn2',
  'pan', 'cardnumber', 'idnumber', 'residentid',
  'key', 'secret', 'token', 'sessiontoken', 'apikey', 'authorization', 'cookie', 'partnerkey',
  'masterkey', 'sessionkey', 'privatekey',
]);

/** Field names whose values are phone numbers (after removing `_`/`-`, lowercased): masked like card numbers, not dropped. */
const phoneKey = /(phone|mobile|msisdn)(number)?$/;

const panLike = /(?<![0-9])([0-9]{6})[0-9]{3,9}([0-9]{4})(?![0-9])/g;
/** A mainland China mobile number (11 digits, 1[3-9]…) standing alone: 13800138000 → 138****8000. */
const mobileLike = /(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])/g;
const residentIdLike = /(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])/g;
const depthMax = 8;

/**
 * Masks anything that looks like a card number (13–19 digits → first 6 / last 4), a resident
 * ID number (18 characters → region code and nothing else) or a mainland mobile number
 * (11 digits → first 3 / last 4) inside a free-text string.
 */
export function scrubText(text: string): string {
  return text
    .replace(residentIdLike, (_m, head: string) => `${head}********####`)
    .replace(panLike, (_m, head: string, tail: string) => `${head}******${tail}`)
    .replace(mobileLike, (_m, head: string, tail: string) => `${head}****${tail}`);
}

/** A phone number field's value, whatever its shape: first 3 / last 4 at most (138****8000). */
export function maskPhoneNumber(value: string): string {
  const digits = value.replace(/[\s-]/g, '');
  if (digits.length < 8) return '[redacted]';
  return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
}

/** A copy of `value` with secret fields replaced and card/ID numbers in strings masked. */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= depthMax) return '[too deep]';
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubText(value.message),
      ...(value.stack ? { stack: scrubText(value.stack) } : {}),
      ...('code' in value ? { code: (value as { code: unknown }).code } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1));
  // Class instances (a Fastify request, a Date) are left to pino's serializers below.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const name = key.replace(/[_-]/g, '').toLowerCase();
    out[key] = secretKeys.has(name) ? '[redacted]'
      : typeof item === 'string' && phoneKey.test(name) ? maskPhoneNumber(item)
        : scrubSecrets(item, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  name: string;
  level?: string;
  destination?: DestinationStream;
}

/**
 * pino JSON logger whose every argument passes through `scrubSecrets` before it is written:
 * redaction is by key name and by shape, so a card number pasted into a message is masked too.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? process.env.MIPAY_LOG_LEVEL ?? 'info',
      serializers: {
        err: (error: unknown) => scrubSecrets(error),
        error: (error: unknown) => scrubSecrets(error),
        req: (req: { id?: string; method?: string; url?: string; ip?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url === undefined ? undefined : scrubText(req.url),
          remote: req.ip,
        }),
        res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => scrubSecrets(arg)) as Parameters<typeof method>;
          return method.apply(this, scrubbed);
        },
      },
    },
    keptForTheTestRun(options.destination ?? pino.destination({ dest: 1, sync: false })),
  );
}

/**
 * Under `npm test` (MIPAY_TEST_LOG_DIR set), every logger of every process also appends its
 * lines to a file of that directory, so that the run's last check can scan all of them for card
 * numbers (captured-logs.scan.ts). Outside a test run the destination is returned as is.
 */
function keptForTheTestRun(destination: DestinationStream): DestinationStream {
  const dir = process.env.MIPAY_TEST_LOG_DIR;
  if (!dir) return destination;
  const file = pino.destination({ dest: join(dir, `${process.pid}.log`), sync: true, append: true, mkdir: true });
  return pino.multistream([{ level: 'trace', stream: destination }, { level: 'trace', stream: file }]);
}
