/**
 * The risk engine: the active rule set, each user's recent history in memory, a decision per
 * operation, and the operation log and decisions written behind the request.
 *
 * The payment path costs no query: a user's history is loaded once (three indexed queries on
 * `risk_operations`) and then kept up to date in memory as operations settle. Entries expire
 * after `historyTtlMs`, so several platform instances behind a load balancer see each other's
 * operations within that time; every instance writes what it saw to the shared log.
 */
import type { Kysely } from 'kysely';
import { newId } from '../../infra/ids.ts';
import type { Logger } from '../../infra/log/logger.ts';
import type { PlatformTables } from '../tables.ts';
import type { RequestRiskContext } from './context.ts';
import {
  defaultRules, evaluate, parseRules, type FiredRule, type OperationFacts, type RiskLevel, type RiskOperation, type Rule, type UserHistory,
} from './rules.ts';

export type Outcome = UserHistory['recent'][number]['outcome'];

export interface Decision {
  id: string;
  userId: string;
  operation: RiskOperation;
  level: RiskLevel;
  fired: FiredRule[];
  ruleSetVersion: number;
  facts: OperationFacts;
  context: RequestRiskContext;
  /** What the platform did with it, set by `enforce`. */
  enforced?: 'allowed' | 'stepped_up' | 'refused';
}

interface HistoryEntry {
  history: { recent: Array<UserHistory['recent'][number]>; knownDevices: Set<string>; paidPayees: Set<string>; cardsAddedAtMs: Map<string, number> };
  loadedAtMs: number;
}

export interface RiskEngineOptions {
  db: Kysely<PlatformTables>;
  clock: () => Date;
  logger: Logger;
  /** How long a user's history is trusted before it is read again (other instances' operations show up then). */
  historyTtlMs?: number;
  /** Users whose history is kept in memory; the least recently used are dropped past it. */
  usersMax?: number;
}

const recentMax = 500;
const writeBatchMax = 500;
const writeDelayMs = 20;
const paymentOperations = new Set<string>(['payment', 'transfer', 'withdrawal']);

export class RiskEngine {
  readonly #db: Kysely<PlatformTables>;
  readonly #clock: () => Date;
  readonly #logger: Logger;
  readonly #historyTtlMs: number;
  readonly #usersMax: number;
  readonly #users = new Map<string, HistoryEntry>();
  readonly #loading = new Map<string, Promise<HistoryEntry>>();
  #rules: Rule[] = defaultRules;
  #version = 0;
  #horizonMs = 0;
  #pendingOperations: PlatformTables['risk_operations'][] = [];
  #pendingDecisions: PlatformTables['risk_decisions'][] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: RiskEngineOptions) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#historyTtlMs = options.historyTtlMs ?? 30_000;
    this.#usersMax = options.usersMax ?? 100_000;
    this.#setRules(defaultRules, 0);
  }

  /** Loads the active rule set, storing version 1 (the defaults) when none is stored. */
  async start(): Promise<void> {
    const active = await this.#db.selectFrom('risk_rule_sets').selectAll().where('active', '=', true).executeTakeFirst();
    if (active) {
      this.#setRules(parseRules(JSON.parse(active.rules)), active.version);
      return;
    }
    await this.#db.insertInto('risk_rule_sets').values({
      version: 1, rules: JSON.stringify(defaultRules), note: 'defaults', created_by: 'system', created_at: this.#clock(), active: true,
    }).onConflict((c) => c.doNothing()).execute();
    const stored = await this.#db.selectFrom('risk_rule_sets').selectAll().where('active', '=', true).executeTakeFirstOrThrow();
    this.#setRules(parseRules(JSON.parse(stored.rules)), stored.version);
  }

  get ruleSet(): { version: number; rules: readonly Rule[] } {
    return { version: this.#version, rules: this.#rules };
  }

  /** Stores `rules` as the next version and makes it the active one (the previous versions stay, for the decisions that name them). */
  async publishRuleSet(input: unknown, note: string, createdBy: string): Promise<number> {
    const rules = parseRules(input);
    const version = await this.#db.transaction().execute(async (trx) => {
      const last = await trx.selectFrom('risk_rule_sets').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
      const next = Number(last?.v ?? 0) + 1;
      await trx.updateTable('risk_rule_sets').set({ active: false }).where('active', '=', true).execute();
      await trx.insertInto('risk_rule_sets').values({
        version: next, rules: JSON.stringify(rules), note: note.slice(0, 500), created_by: createdBy, created_at: this.#clock(), active: true,
      }).execute();
      return next;
    });
    this.#setRules(rules, version);
    return version;
  }

  #setRules(rules: Rule[], version: number): void {
    this.#rules = rules;
    this.#version = version;
    this.#horizonMs = Math.max(3_600_000, ...rules.map((r) => ('windowMs' in r ? r.windowMs : 0)));
  }

  /** The decision on an operation about to happen; nothing is written until it settles. */
  async assess(userId: string, operation: RiskOperation, facts: Omit<OperationFacts, 'operation' | 'atMs' | 'region' | 'country' | 'deviceId'>,
    context: RequestRiskContext): Promise<Decision> {
    const entry = await this.#history(userId);
    const op: OperationFacts = {
      ...facts, operation, atMs: this.#clock().getTime(), deviceId: context.deviceId, region: context.region, country: context.country,
    };
    const { level, fired } = evaluate(this.#rules, op, entry.history);
    return { id: newId('rdec'), userId, operation, level, fired, ruleSetVersion: this.#version, facts: op, context };
  }

  /**
   * Records a settled operation: in the user's history at once, in the operation log (and its
   * decision, if any) within a few milliseconds. Call it exactly once per operation.
   */
  settle(input: {
    userId: string; operation: RiskOperation; outcome: Outcome; context: RequestRiskContext; decision?: Decision | undefined;
    facts?: Partial<Pick<OperationFacts, 'amountFen' | 'payee' | 'cardId'>>;
  }): void {
    const now = this.#clock();
    const facts: OperationFacts = input.decision?.facts ?? {
      operation: input.operation, atMs: now.getTime(), amountFen: input.facts?.amountFen ?? null, payee: input.facts?.payee ?? null,
      cardId: input.facts?.cardId ?? null, deviceId: input.context.deviceId, region: input.context.region, country: input.context.country,
    };
    const entry = this.#users.get(input.userId);
    if (entry) this.#remember(entry, { ...facts, outcome: input.outcome });
    const c = input.context;
    this.#pendingOperations.push({
      id: newId('rop'), user_id: input.userId, operation: input.operation, outcome: input.outcome, amount_fen: facts.amountFen, payee: facts.payee,
      card_id: facts.cardId, device_id: c.deviceId, device_model: c.deviceModel, os_version: c.osVersion, network_type: c.networkType, ip: c.ip,
      country: c.country, region: c.region, city: c.city, decision_id: input.decision?.id ?? null, created_at: new Date(facts.atMs),
    });
    const d = input.decision;
    if (d) {
      this.#pendingDecisions.push({
        id: d.id, user_id: d.userId, operation: d.operation, level: d.level, enforced: d.enforced ?? 'allowed',
        fired: JSON.stringify(d.fired), rule_set_version: d.ruleSetVersion, created_at: new Date(d.facts.atMs),
      });
    }
    if (this.#pendingOperations.length >= writeBatchMax) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), writeDelayMs);
  }

  /** Writes what has settled so far; resolves when it is in the database. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const operations = this.#pendingOperations.splice(0);
    const decisions = this.#pendingDecisions.splice(0);
    const previous = this.#flushing;
    this.#flushing = (async () => {
      await previous;
      if (operations.length === 0 && decisions.length === 0) return;
      try {
        await this.#db.transaction().execute(async (trx) => {
          if (decisions.length) await trx.insertInto('risk_decisions').values(decisions).execute();
          if (operations.length) await trx.insertInto('risk_operations').values(operations).execute();
        });
      } catch (error) {
        this.#logger.error({ err: error, operations: operations.length }, 'risk: writing the operation log failed');
      }
    })();
    return this.#flushing;
  }

  /** Forgets every user's in-memory history (tests; a rule-set change does not need it). */
  forget(userId?: string): void {
    if (userId) this.#users.delete(userId);
    else this.#users.clear();
  }

  #remember(entry: HistoryEntry, op: UserHistory['recent'][number]): void {
    const h = entry.history;
    h.recent.push(op);
    const horizon = op.atMs - this.#horizonMs;
    while (h.recent.length > recentMax || (h.recent.length > 0 && h.recent[0]!.atMs < horizon)) h.recent.shift();
    if (op.outcome !== 'succeeded') return;
    if (op.deviceId) h.knownDevices.add(op.deviceId);
    if (op.payee && paymentOperations.has(op.operation)) h.paidPayees.add(op.payee);
    if (op.cardId && (op.operation === 'card_add' || op.operation === 'device_card_provision')) h.cardsAddedAtMs.set(op.cardId, op.atMs);
  }

  async #history(userId: string): Promise<HistoryEntry> {
    const nowMs = this.#clock().getTime();
    const known = this.#users.get(userId);
    if (known) {
      // Most recently used last, so the oldest key is the one to drop.
      this.#users.delete(userId);
      this.#users.set(userId, known);
      // Past its time the history is read again in the background: the payment path never waits for it.
      if (nowMs - known.loadedAtMs >= this.#historyTtlMs && !this.#loading.has(userId)) this.#refresh(userId, known, nowMs);
      return known;
    }
    const loading = this.#loading.get(userId);
    if (loading) return loading;
    const load = this.#load(userId, nowMs).finally(() => this.#loading.delete(userId));
    this.#loading.set(userId, load);
    const entry = await load;
    this.#users.delete(userId);
    this.#users.set(userId, entry);
    while (this.#users.size > this.#usersMax) this.#users.delete(this.#users.keys().next().value!);
    return entry;
  }

  /** Reads a user's history again; operations this instance settled meanwhile are kept. */
  #refresh(userId: string, stale: HistoryEntry, nowMs: number): void {
    const load = this.#load(userId, nowMs).then((fresh) => {
        const newestMs = fresh.history.recent.at(-1)?.atMs ?? 0;
        for (const op of stale.history.recent) if (op.atMs > newestMs) this.#remember(fresh, op);
        if (this.#users.has(userId)) this.#users.set(userId, fresh);
        return fresh;
      }, (error: unknown) => {
        this.#logger.error({ err: error }, 'risk: reading a user\'s history failed; the one in memory stays');
        stale.loadedAtMs = nowMs;
        return stale;
      }).finally(() => this.#loading.delete(userId));
    this.#loading.set(userId, load);
  }

  async #load(userId: string, nowMs: number): Promise<HistoryEntry> {
    await this.#flushing;
    const since = new Date(nowMs - this.#horizonMs);
    const [recent, devices, payees] = await Promise.all([
      this.#db.selectFrom('risk_operations').selectAll().where('user_id', '=', userId).where('created_at', '>', since)
        .orderBy('created_at', 'desc').limit(recentMax).execute(),
      this.#db.selectFrom('risk_operations').select('device_id').distinct().where('user_id', '=', userId).where('outcome', '=', 'succeeded')
        .where('device_id', 'is not', null).limit(1_000).execute(),
      this.#db.selectFrom('risk_operations').select('payee').distinct().where('user_id', '=', userId).where('outcome', '=', 'succeeded')
        .where('payee', 'is not', null).where('operation', 'in', [...paymentOperations]).limit(10_000).execute(),
    ]);
    const entry: HistoryEntry = {
      loadedAtMs: nowMs,
      history: {
        recent: [], knownDevices: new Set(devices.map((d) => d.device_id!)), paidPayees: new Set(payees.map((p) => p.payee!)), cardsAddedAtMs: new Map(),
      },
    };
    for (const row of recent.reverse()) {
      this.#remember(entry, {
        operation: row.operation as RiskOperation, atMs: row.created_at.getTime(), amountFen: row.amount_fen === null ? null : BigInt(row.amount_fen),
        deviceId: row.device_id, region: row.region, country: row.country, payee: row.payee, cardId: row.card_id, outcome: row.outcome,
      });
    }
    return entry;
  }
}
