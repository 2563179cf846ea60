/**
 * The risk team's side (/ops/v1, staff sessions from staff/): the review queue of identity
 * cases with their photos, the decision that carries the operation out, risk decisions by rule
 * per day, and the active rule set. Every look at a user's data needs a `reason` and is written
 * to the staff audit log; every decision is written in the same database transaction as itself.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import { errors } from '../errors.ts';
import { accessReason, requireStaff, staffAuthErrors, staffCaller, staffSecurity } from '../staff/auth.ts';
import type { StaffAudit } from '../staff/audit.ts';
import type { StaffService } from '../staff/service.ts';
import type { PlatformTables } from '../tables.ts';
import type { RiskEngine } from './engine.ts';
import { documentKinds, reviewQueuePageMax, type IdentityCase, type IdentityCases } from './identity-cases.ts';

const tags = ['ops: risk'];
const byRuleDaysMax = 92;

const reviewSchema = z.object({
  id: z.string().describe('The case id (idc_…)'),
  user_id: z.string().describe('The user who asked'),
  type: z.enum(['password_recovery', 'unfreeze', 'voucher']).describe('What approving carries out'),
  status: z.enum(['pending_review', 'approved', 'rejected']).describe('Waiting, or decided'),
  why: z.string().describe('Why it needs a review (the rules that fired, or asked by the user)'),
  transaction_id: z.string().nullable().describe('For a voucher: the transaction'),
  reviewer: z.string().nullable().describe('The staff member who decided'),
  decision_reason: z.string().nullable().describe('The reason given with the decision (shown to the user)'),
  created_at: z.string().describe('When it was opened'),
  decided_at: z.string().nullable().describe('When it was decided'),
});

function reviewToWire(c: IdentityCase): z.infer<typeof reviewSchema> {
  const request = JSON.parse(c.request) as { transaction_id?: string };
  return {
    id: c.id, user_id: c.user_id, type: c.type, status: c.status, why: c.why, transaction_id: request.transaction_id ?? null, reviewer: c.reviewer,
    decision_reason: c.decision_reason, created_at: c.created_at.toISOString(), decided_at: c.decided_at?.toISOString() ?? null,
  };
}

export interface RiskOpsDeps {
  staff: StaffService;
  audit: StaffAudit;
  cases: IdentityCases;
  engine: RiskEngine;
  db: Kysely<PlatformTables>;
}

export function registerRiskOpsRoutes(app: App, deps: RiskOpsDeps): void {
  const reviewer = requireStaff(deps.staff, 'risk_reviewer');
  const idParams = z.object({ id: z.string().min(1).max(64).describe('The case id') });

  app.get('/ops/v1/risk/reviews', {
    preHandler: reviewer,
    schema: {
      tags, security: staffSecurity, summary: 'The review queue: identity cases waiting for a risk reviewer, oldest first',
      description: 'Shows which users asked for what and why it needs a review; the look is written to the audit log with `reason`.',
      errors: [...staffAuthErrors],
      querystring: z.object({ reason: accessReason, limit: z.coerce.number().int().min(1).max(reviewQueuePageMax).default(50).describe('Cases (1–100)') }),
      response: { 200: z.object({ data: z.array(reviewSchema) }) },
    },
  }, async (request) => {
    const queue = await deps.cases.queue(request.query.limit);
    await deps.audit.record({
      staffId: staffCaller(request).staffId, action: 'risk.review.list', reason: request.query.reason, ip: request.ip,
      details: { cases: queue.length },
    });
    return { data: queue.map(reviewToWire) };
  });

  app.get('/ops/v1/risk/reviews/:id', {
    preHandler: reviewer,
    schema: {
      tags, security: staffSecurity, summary: 'One case with its ID photos, for a reviewer',
      description: 'The photos are opened from their sealed form for this look only; the look is written to the audit log with `reason`. '
        + 'Photos deleted after their retention show as `null`.',
      errors: [...staffAuthErrors, errors.not_found], errorParams: ['case_id'],
      params: idParams, querystring: z.object({ reason: accessReason }),
      response: {
        200: z.object({
          case: reviewSchema.describe('The case'),
          documents: z.array(z.object({
            kind: z.enum(documentKinds).describe('Which photo'), media_type: z.string().describe('image/png or image/jpeg, from its bytes'),
            width: z.number().describe('Pixels'), height: z.number().describe('Pixels'), size_bytes: z.number().describe('Bytes'),
            data_base64: z.string().nullable().describe('The photo, or null once deleted'),
          })).describe('The ID photos'),
        }),
      },
    },
  }, async (request) => {
    const { case: found, documents } = await deps.cases.forReviewer(request.params.id);
    const opened = await Promise.all(documents.map(async (d) => ({
      kind: d.kind, media_type: d.media_type, width: d.width, height: d.height, size_bytes: d.size_bytes,
      data_base64: d.deleted_at ? null : (await deps.cases.document(found.id, d.kind)).bytes.toString('base64'),
    })));
    await deps.audit.record({
      staffId: staffCaller(request).staffId, action: 'user.identity_proof.read', reason: request.query.reason, subjectUserId: found.user_id,
      subjectType: 'identity_case', subjectId: found.id, ip: request.ip, details: { photos: opened.filter((d) => d.data_base64).length },
    });
    return { case: reviewToWire(found), documents: opened };
  });

  app.post('/ops/v1/risk/reviews/:id/decision', {
    preHandler: reviewer,
    schema: {
      tags, security: staffSecurity, summary: 'Approve (the operation is carried out) or reject a case, with a reason the user is shown',
      description: 'Approving a password recovery sets the new password and revokes every session; an unfreeze unfreezes the payment '
        + 'account; a voucher issues the signed PDF. The decision and its audit log entry commit together.',
      errors: [...staffAuthErrors, errors.not_found, errors.identity_case_decided], errorParams: ['case_id'],
      params: idParams,
      body: z.object({
        decision: z.enum(['approve', 'reject']).describe('What the reviewer decided'),
        reason: z.string().trim().min(2).max(500).describe('Why; shown to the user'),
      }),
      response: { 200: z.object({ case: reviewSchema.describe('The case as decided'), carried_out: z.string().describe('What approving did') }) },
    },
  }, async (request) => {
    const { staffId } = staffCaller(request);
    const { decision, reason } = request.body;
    const audit = async (trx: Kysely<PlatformTables>, decided: IdentityCase) => {
      await deps.audit.record({
        staffId, action: `risk.review.${decision}`, reason, subjectUserId: decided.user_id, subjectType: 'identity_case', subjectId: decided.id,
        ip: request.ip, details: { type: decided.type },
      }, trx);
    };
    const outcome = decision === 'approve'
      ? await deps.cases.approve(request.params.id, staffId, reason, audit)
      : await deps.cases.reject(request.params.id, staffId, reason, audit);
    return { case: reviewToWire(outcome.case), carried_out: outcome.carriedOut };
  });

  app.get('/ops/v1/risk/decisions/by-rule', {
    preHandler: requireStaff(deps.staff, 'risk_reviewer', 'compliance_officer'),
    schema: {
      tags, security: staffSecurity, summary: 'Risk decisions by rule and level per day (Beijing dates), for the console\'s charts',
      description: 'Counts only, no user data. `rule` is `(none)` for decisions where no rule fired. At most 92 days.',
      errors: [...staffAuthErrors],
      querystring: z.object({ from: z.iso.date().describe('First day (Beijing date)'), to: z.iso.date().describe('Last day, included') })
        .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
        .refine((q) => Date.parse(q.to) - Date.parse(q.from) < byRuleDaysMax * 86_400_000, { message: `at most ${byRuleDaysMax} days`, path: ['to'] }),
      response: {
        200: z.object({
          data: z.array(z.object({
            day: z.string().describe('Beijing date'), rule: z.string().describe('Rule id'), level: z.string().describe('The decision\'s level'),
            enforced: z.string().describe('allowed, stepped_up or refused'), count: z.number().describe('Decisions'),
          })),
        }),
      },
    },
  }, async (request) => {
    await deps.engine.flush();
    const from = new Date(`${request.query.from}T00:00:00+08:00`);
    const to = new Date(Date.parse(`${request.query.to}T00:00:00+08:00`) + 86_400_000);
    const rows = await deps.db.selectFrom('risk_decisions').select(['level', 'enforced', 'fired', 'created_at'])
      .where('created_at', '>=', from).where('created_at', '<', to).execute();
    const counts = new Map<string, number>();
    for (const row of rows) {
      const day = new Date(row.created_at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
      const fired = JSON.parse(row.fired) as Array<{ id: string }>;
      for (const rule of fired.length ? fired.map((f) => f.id) : ['(none)']) {
        const key = JSON.stringify([day, rule, row.level, row.enforced]);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    const data = [...counts].map(([key, count]) => {
      const [day, rule, level, enforced] = JSON.parse(key) as string[];
      return { day: day!, rule: rule!, level: level!, enforced: enforced!, count };
    }).sort((a, b) => a.day.localeCompare(b.day) || a.rule.localeCompare(b.rule) || a.level.localeCompare(b.level));
    return { data };
  });

  app.get('/ops/v1/risk/rule-set', {
    preHandler: requireStaff(deps.staff, 'risk_reviewer', 'compliance_officer', 'admin'),
    schema: {
      tags, security: staffSecurity, summary: 'The active risk rule set and its version', description: 'Rules as data (README "Risk control").',
      errors: [...staffAuthErrors],
      response: { 200: z.object({ version: z.number().describe('Rule set version'), rules: z.array(z.record(z.string(), z.unknown())).describe('The rules') }) },
    },
  }, async () => ({ version: deps.engine.ruleSet.version, rules: deps.engine.ruleSet.rules as unknown as Array<Record<string, unknown>> }));

  app.post('/ops/v1/risk/rule-sets', {
    preHandler: requireStaff(deps.staff, 'compliance_officer'),
    schema: {
      tags, security: staffSecurity, summary: 'Publish a new rule set version; it takes effect at once',
      description: 'The whole list of rules, checked (kinds, parameters, unique ids, login only allow/deny). Earlier versions stay for the '
        + 'decisions that name them. Written to the audit log.',
      errors: [...staffAuthErrors],
      body: z.object({
        rules: z.array(z.record(z.string(), z.unknown())).min(1).max(100)
          .describe('The rules: objects of a known `kind` with its parameters, `operations` and `level` (README "Risk control")'),
        note: z.string().trim().min(5).max(500).describe('Why the change') }),
      response: { 201: z.object({ version: z.number().describe('The new version') }) },
    },
  }, async (request, reply) => {
    let version: number;
    try {
      version = await deps.engine.publishRuleSet(request.body.rules, request.body.note, staffCaller(request).staffId);
    } catch (error) {
      throw errors.parameter_invalid(`The rule set is not valid: ${(error as Error).message}`, 'rules');
    }
    await deps.audit.record({
      staffId: staffCaller(request).staffId, action: 'risk.rule_set.publish', reason: request.body.note, ip: request.ip, details: { version },
    });
    void reply.code(201);
    return { version };
  });
}
