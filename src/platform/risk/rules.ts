/**
 * Risk rules as data. A rule set is a versioned list of rules, each of a known kind with its
 * parameters, the operations it watches and the level it gives when it fires. The kinds are code
 * (what can be measured); thresholds, windows, levels and which operations are watched are data,
 * stored in `risk_rule_sets` and chosen by version, so a change is a new version, never an edit.
 *
 * Evaluation is a pure function of the operation and the user's recent history (`UserHistory`),
 * which the engine keeps in memory: no query on the payment path.
 */
import { z } from 'zod';

/** Levels from mildest to strictest; an operation gets the strictest level of the rules that fired. */
export const riskLevels = ['allow', 'step_up', 'review', 'deny'] as const;
export type RiskLevel = (typeof riskLevels)[number];

/** The important user operations the risk context is recorded for. */
export const riskOperations = [
  'login', 'payment', 'transfer', 'top_up', 'withdrawal', 'card_add', 'device_card_provision', 'payment_password_change',
  'password_recovery', 'report_lost', 'unfreeze', 'voucher_request', 'device_register',
] as const;
export type RiskOperation = (typeof riskOperations)[number];

/** Operations whose only levels are allow and deny: there is no second factor to ask for before a session exists. */
export const allowOrDenyOnly: ReadonlySet<RiskOperation> = new Set(['login']);

const operations = z.array(z.enum(riskOperations)).min(1).max(riskOperations.length);
const level = z.enum(['step_up', 'review', 'deny']);
const windowMs = z.number().int().min(1_000).max(30 * 86_400_000);
const amountFen = z.number().int().min(0).max(10_000_000_000);
const base = { id: z.string().regex(/^[a-z0-9_]{1,48}$/), operations, level };

/** The kinds of rule there are; `README.md` ("Risk control") describes each. */
export const ruleSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('velocity_count'), windowMs, countMax: z.number().int().min(1).max(100_000) }),
  z.object({ ...base, kind: z.literal('velocity_amount'), windowMs, amountFenMax: amountFen }),
  z.object({ ...base, kind: z.literal('new_device'), amountFenMin: amountFen }),
  z.object({ ...base, kind: z.literal('region_jump'), windowMs }),
  z.object({ ...base, kind: z.literal('foreign_ip'), amountFenMin: amountFen }),
  z.object({
    ...base, kind: z.literal('night_large_amount'), amountFenMin: amountFen,
    fromHour: z.number().int().min(0).max(23), toHour: z.number().int().min(0).max(23),
  }),
  z.object({ ...base, kind: z.literal('failed_password_streak'), windowMs, failuresMin: z.number().int().min(1).max(1_000) }),
  z.object({ ...base, kind: z.literal('first_payee'), amountFenMin: amountFen }),
  z.object({ ...base, kind: z.literal('fresh_card'), windowMs, amountFenMin: amountFen }),
]);
export type Rule = z.infer<typeof ruleSchema>;
export const ruleListSchema = z.array(ruleSchema).min(1).max(100);

/** Checks a rule list beyond its shape: unique ids, and no level an operation cannot enforce. */
export function parseRules(input: unknown): Rule[] {
  const rules = ruleListSchema.parse(input);
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id)) throw new Error(`rule id ${rule.id} is used twice`);
    ids.add(rule.id);
    for (const op of rule.operations) {
      if (allowOrDenyOnly.has(op) && rule.level !== 'deny') throw new Error(`rule ${rule.id}: ${op} can only be allowed or denied`);
    }
  }
  return rules;
}

const minute = 60_000;
const hour = 60 * minute;
const moneyOut: RiskOperation[] = ['payment', 'transfer', 'withdrawal'];
/** Money to others; a withdrawal goes to the holder's own card, watched by `fresh_card` instead of the amount rules. */
const spending: RiskOperation[] = ['payment', 'transfer'];

/** Version 1, seeded when no rule set is stored yet. */
export const defaultRules: Rule[] = parseRules([
  { id: 'burst_of_payments', kind: 'velocity_count', operations: moneyOut, windowMs: minute, countMax: 10, level: 'step_up' },
  { id: 'payment_flood', kind: 'velocity_count', operations: moneyOut, windowMs: minute, countMax: 40, level: 'deny' },
  { id: 'hourly_amount', kind: 'velocity_amount', operations: spending, windowMs: hour, amountFenMax: 2_000_000, level: 'step_up' },
  { id: 'daily_amount', kind: 'velocity_amount', operations: spending, windowMs: 24 * hour, amountFenMax: 10_000_000, level: 'review' },
  { id: 'new_device_payment', kind: 'new_device', operations: moneyOut, amountFenMin: 20_000, level: 'step_up' },
  { id: 'region_jump', kind: 'region_jump', operations: [...moneyOut, 'payment_password_change'], windowMs: 2 * hour, level: 'step_up' },
  { id: 'foreign_ip_payment', kind: 'foreign_ip', operations: moneyOut, amountFenMin: 50_000, level: 'step_up' },
  { id: 'night_large_amount', kind: 'night_large_amount', operations: spending, amountFenMin: 500_000, fromHour: 0, toHour: 6, level: 'step_up' },
  { id: 'password_guessing', kind: 'failed_password_streak', operations: moneyOut, windowMs: hour, failuresMin: 3, level: 'step_up' },
  { id: 'login_guessing', kind: 'failed_password_streak', operations: ['login'], windowMs: hour, failuresMin: 20, level: 'deny' },
  { id: 'first_payee_large', kind: 'first_payee', operations: ['transfer'], amountFenMin: 200_000, level: 'step_up' },
  // Recovering the login password from a device or region the account was not used from needs ID photos and a reviewer.
  { id: 'recovery_new_device', kind: 'new_device', operations: ['password_recovery'], amountFenMin: 0, level: 'review' },
  { id: 'recovery_region_jump', kind: 'region_jump', operations: ['password_recovery'], windowMs: 24 * hour, level: 'review' },
  { id: 'fresh_card', kind: 'fresh_card', operations: ['transfer', 'payment', 'top_up', 'withdrawal'], windowMs: 10 * minute, amountFenMin: 10_000, level: 'step_up' },
]);

/** One operation as the rules see it. */
export interface OperationFacts {
  operation: RiskOperation;
  atMs: number;
  amountFen: bigint | null;
  deviceId: string | null;
  /** ip2region's province (or city) for China, the country elsewhere; null when unknown or private. */
  region: string | null;
  country: string | null;
  /** `mi:<number>` or `order:<id>`'s merchant, for payments and transfers. */
  payee: string | null;
  /** The bound card funding the operation (or provisioned onto a device). */
  cardId: string | null;
}

/** What a user did before, as far as the rules need it. */
export interface UserHistory {
  /** Settled operations, oldest first, at most the longest window back. */
  recent: ReadonlyArray<OperationFacts & { outcome: 'succeeded' | 'failed' | 'failed_password' | 'refused' }>;
  knownDevices: ReadonlySet<string>;
  paidPayees: ReadonlySet<string>;
  /** When each bound card was added or provisioned onto a device, by card id. */
  cardsAddedAtMs: ReadonlyMap<string, number>;
}

export interface FiredRule {
  id: string;
  kind: Rule['kind'];
  level: RiskLevel;
  /** For the staff who review it; never shown to the user. */
  reason: string;
}

const levelRank: Record<RiskLevel, number> = { allow: 0, step_up: 1, review: 2, deny: 3 };

export function strictest(a: RiskLevel, b: RiskLevel): RiskLevel {
  return levelRank[a] >= levelRank[b] ? a : b;
}

/** The hour of day in Beijing (UTC+8, no daylight saving). */
export function beijingHour(atMs: number): number {
  return new Date(atMs + 8 * hour).getUTCHours();
}

function inHours(hourOfDay: number, from: number, to: number): boolean {
  return from <= to ? hourOfDay >= from && hourOfDay < to : hourOfDay >= from || hourOfDay < to;
}

const yuan = (fen: bigint | number) => `¥${(Number(fen) / 100).toFixed(2)}`;

/** The rules that fire on `op` given `history`, and the level they give together. */
export function evaluate(rules: readonly Rule[], op: OperationFacts, history: UserHistory): { level: RiskLevel; fired: FiredRule[] } {
  const fired: FiredRule[] = [];
  const amount = op.amountFen ?? 0n;
  for (const rule of rules) {
    if (!rule.operations.includes(op.operation)) continue;
    const reason = check(rule, op, amount, history);
    if (reason) fired.push({ id: rule.id, kind: rule.kind, level: rule.level, reason });
  }
  return { level: fired.reduce<RiskLevel>((l, f) => strictest(l, f.level), 'allow'), fired };
}

function check(rule: Rule, op: OperationFacts, amount: bigint, history: UserHistory): string | undefined {
  const since = (windowMs: number) => history.recent.filter((h) => h.atMs > op.atMs - windowMs);
  const watched = (h: { operation: RiskOperation }) => rule.operations.includes(h.operation);
  switch (rule.kind) {
    case 'velocity_count': {
      // Operations that went through: a burst of them is money leaving fast. Failed tries have their own rule (password streak).
      const count = since(rule.windowMs).filter((h) => watched(h) && h.outcome === 'succeeded').length + 1;
      return count > rule.countMax ? `${count} operations in ${rule.windowMs / 1000} s (at most ${rule.countMax})` : undefined;
    }
    case 'velocity_amount': {
      const total = since(rule.windowMs).filter((h) => watched(h) && h.outcome === 'succeeded')
        .reduce((sum, h) => sum + (h.amountFen ?? 0n), 0n) + amount;
      return total > BigInt(rule.amountFenMax) ? `${yuan(total)} in ${rule.windowMs / 1000} s (at most ${yuan(rule.amountFenMax)})` : undefined;
    }
    case 'new_device':
      // A user's very first device is not "new" to anyone: the rule needs devices seen before.
      if (amount < BigInt(rule.amountFenMin) || history.knownDevices.size === 0) return undefined;
      if (op.deviceId === null) return 'no device id reported';
      return history.knownDevices.has(op.deviceId) ? undefined : `device ${op.deviceId} never seen before`;
    case 'region_jump': {
      if (op.region === null) return undefined;
      const previous = [...since(rule.windowMs)].reverse().find((h) => h.region !== null && h.outcome !== 'refused');
      return previous && previous.region !== op.region
        ? `region ${previous.region} → ${op.region} within ${Math.round((op.atMs - previous.atMs) / 60_000)} min` : undefined;
    }
    case 'foreign_ip':
      return op.country !== null && op.country !== '中国' && amount >= BigInt(rule.amountFenMin) ? `IP in ${op.country}` : undefined;
    case 'night_large_amount': {
      const at = beijingHour(op.atMs);
      return inHours(at, rule.fromHour, rule.toHour) && amount >= BigInt(rule.amountFenMin) ? `${yuan(amount)} at ${at}:00 Beijing time` : undefined;
    }
    case 'failed_password_streak': {
      let streak = 0;
      for (const h of [...since(rule.windowMs)].reverse()) {
        if (h.outcome === 'failed_password') streak += 1;
        else if (h.outcome === 'succeeded') break;
      }
      return streak >= rule.failuresMin ? `${streak} wrong passwords in a row` : undefined;
    }
    case 'first_payee':
      return op.payee !== null && !history.paidPayees.has(op.payee) && amount >= BigInt(rule.amountFenMin)
        ? `first payment to ${op.payee}` : undefined;
    case 'fresh_card': {
      if (op.cardId === null || amount < BigInt(rule.amountFenMin)) return undefined;
      const added = history.cardsAddedAtMs.get(op.cardId);
      return added !== undefined && op.atMs - added < rule.windowMs
        ? `card ${op.cardId} added ${Math.round((op.atMs - added) / 1000)} s before use` : undefined;
    }
  }
}
