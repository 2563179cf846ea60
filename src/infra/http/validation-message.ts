/**
 * Validation messages in the product's own words, in English and Chinese. The schema library's
 * messages ("expected int, received number", "Too big: expected int to be <=9007199254740991")
 * describe its types; a caller needs the field, the unit and the bound: "a whole number of fen",
 * "at most ¥1,000,000".
 */

export type Locale = 'en' | 'zh';

/** `zh` when the caller's first language is Chinese (`Accept-Language: zh-CN,zh;q=0.9,en;q=0.8`); else `en`. */
export function localeOf(acceptLanguage: string | string[] | undefined): Locale {
  const header = Array.isArray(acceptLanguage) ? acceptLanguage[0] : acceptLanguage;
  const first = header?.split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('zh') ? 'zh' : 'en';
}

/** "1 try left", "3 tries left" (and the Chinese "还剩 3 次机会"). */
export function triesLeft(count: number, locale: Locale = 'en'): string {
  if (locale === 'zh') return `还剩 ${count} 次机会`;
  return `${count} ${count === 1 ? 'try' : 'tries'} left`;
}

/** ¥23.50, ¥1,000,000: an amount in fen as people read it. */
export function formatYuan(fen: number | bigint): string {
  const value = BigInt(fen);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = abs % 100n;
  return `${sign}¥${whole}${cents === 0n ? '' : `.${cents.toString().padStart(2, '0')}`}`;
}

/** One issue as the schema validator reports it (zod's code, its facts, its own message). */
export interface ValidationIssue {
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}

/**
 * Custom pattern messages written in a schema (`.regex(re, '6 digits')`) in Chinese. A schema
 * whose message is not listed here keeps its English message in a Chinese answer.
 */
export const patternMessagesZh: Record<string, string> = {
  '6 digits': '6 位数字',
  'a mainland China mobile number: 11 digits starting with 13 to 19': '中国大陆手机号：以 13 至 19 开头的 11 位数字',
  '13 to 19 digits': '13 至 19 位数字',
  '18 characters: 17 digits and a digit or X': '18 位：17 位数字加一位数字或 X',
  'YYMM': 'YYMM（年月）',
  'a 4-digit merchant category code (ISO 18245)': '4 位商户类别码（ISO 18245）',
  'an ISO 3166-1 alpha-3 code, e.g. CHN': 'ISO 3166-1 三字母代码，如 CHN',
  '4 to 12 digits': '4 至 12 位数字',
  '8 to 64 letters, digits or _.:-': '8 至 64 个字母、数字或 _.:-',
};

const typeNames: Record<string, [string, string]> = {
  string: ['a string', '字符串'], number: ['a number', '数字'], int: ['a whole number', '整数'], boolean: ['true or false', 'true 或 false'],
  object: ['an object', '对象'], array: ['a list', '数组'], bigint: ['a whole number', '整数'], date: ['a date', '日期'],
};

const formatNames: Record<string, [string, string]> = {
  email: ['an email address', '电子邮件地址'], url: ['a URL (http or https)', 'URL（http 或 https）'],
  date: ['a date like 2026-11-30', '形如 2026-11-30 的日期'], datetime: ['a time like 2026-11-30T08:00:00Z', '形如 2026-11-30T08:00:00Z 的时间'],
  uuid: ['a UUID', 'UUID'], base64: ['base64 text', 'base64 文本'],
};

/**
 * The message for one validation issue on `field` (`amount_fen`, `device.model`), `value` being
 * what the caller sent there (undefined when absent). Fields named `…_fen` are money: their
 * bounds are said in yuan and fen.
 */
export function validationMessage(issue: ValidationIssue, field: string | undefined, value: unknown, locale: Locale): string {
  const zh = locale === 'zh';
  const name = field ? `\`${field}\`` : (zh ? '请求体' : 'The request body');
  const isFen = field !== undefined && /(^|[._])[a-z_]*fen$/.test(field);
  const p = issue.params;
  switch (issue.keyword) {
    case 'invalid_type': {
      if (value === undefined) {
        if (!field) return zh ? '请求需要 JSON 请求体（Content-Type: application/json）。' : 'The request needs a JSON body (Content-Type: application/json).';
        return zh ? `缺少必填字段 ${name}。` : `${name} is required.`;
      }
      const expected = String(p.expected ?? '');
      if (isFen && (expected === 'int' || expected === 'number')) return fenMessage(name, zh);
      const [en, cn] = typeNames[expected] ?? [expected, expected];
      return zh ? `${name} 必须是${cn}。` : `${name} must be ${en}.`;
    }
    case 'too_big':
    case 'too_small': {
      const big = issue.keyword === 'too_big';
      const bound = Number(big ? p.maximum : p.minimum);
      const inclusive = p.inclusive !== false;
      if (p.origin === 'string') {
        if (!big && bound === 1) return zh ? `${name} 不能为空。` : `${name} must not be empty.`;
        return zh ? `${name} ${big ? '最多' : '至少'} ${bound} 个字符。` : `${name} must be ${big ? 'at most' : 'at least'} ${bound} characters.`;
      }
      if (p.origin === 'array' || p.origin === 'set') {
        return zh ? `${name} ${big ? '最多' : '至少'} ${bound} 项。` : `${name} must have ${big ? 'at most' : 'at least'} ${bound} items.`;
      }
      if (isFen) {
        // A whole number of fen: "greater than 0" is "at least 1 fen".
        const limit = inclusive ? bound : big ? bound - 1 : bound + 1;
        const said = `${formatYuan(limit)} (${limit} ${zh ? '分' : 'fen'})`;
        return zh ? `${name} ${big ? '最多' : '至少'}为 ${said}。` : `${name} must be ${big ? 'at most' : 'at least'} ${said}.`;
      }
      const word = big ? (inclusive ? ['at most', '最多为'] : ['less than', '必须小于']) : (inclusive ? ['at least', '至少为'] : ['greater than', '必须大于']);
      return zh ? `${name} ${word[1]} ${bound}。` : `${name} must be ${word[0]} ${bound}.`;
    }
    case 'invalid_format': {
      const format = String(p.format ?? '');
      if (format === 'regex' && !issue.message.startsWith('Invalid')) {
        return zh ? `${name} 必须是${patternMessagesZh[issue.message] ?? issue.message}。` : `${name} must be ${issue.message}.`;
      }
      const [en, cn] = formatNames[format] ?? ['in the documented format', '文档规定的格式'];
      return zh ? `${name} 必须是${cn}。` : `${name} must be ${en}.`;
    }
    case 'invalid_value': {
      const values = Array.isArray(p.values) ? p.values.map(String).join(', ') : '';
      return zh ? `${name} 必须是以下之一：${values}。` : `${name} must be one of: ${values}.`;
    }
    case 'unrecognized_keys': {
      const keys = Array.isArray(p.keys) ? p.keys.join(', ') : '';
      return zh ? `不认识的字段：${keys}。` : `Unknown field: ${keys}.`;
    }
    case 'not_multiple_of':
      return zh ? `${name} 必须是 ${String(p.divisor)} 的倍数。` : `${name} must be a multiple of ${String(p.divisor)}.`;
    case 'custom':
      return zh ? `${name} 无效：${issue.message}` : `${name} is invalid: ${issue.message}`;
    default:
      return zh ? `${name} 无效。` : `${name} is invalid.`;
  }
}

function fenMessage(name: string, zh: boolean): string {
  return zh
    ? `${name} 必须是以分为单位的整数（1 元 = 100 分），如 2350 表示 ¥23.50。`
    : `${name} must be a whole number of fen (1 yuan = 100 fen), e.g. 2350 for ¥23.50.`;
}
