import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { verifyAuditLog } from '../../cli/staff-command.ts';
import { platformSchema } from '../migrations/index.ts';
import { auditEntryHash, type AuditEntry } from './audit.ts';

describe('the staff audit log: append-only, hash-chained, verified', () => {
  let system: TestSystem;
  before(async () => {
    system = await startTestSystem();
  });
  after(() => system.close());

  const root = () => system.database.root;
  const verify = async () => {
    const lines: string[] = [];
    const code = await verifyAuditLog(system.database, (line) => lines.push(line));
    return { code, lines };
  };
  /** What someone with the database owner's rights (not the app) could do: switch the guard off, change, switch it on. */
  const tamper = async (statement: string) => {
    await sql.raw(`alter table ${platformSchema}.staff_audit_log disable trigger staff_audit_log_append_only`).execute(root());
    await sql.raw(statement).execute(root());
    await sql.raw(`alter table ${platformSchema}.staff_audit_log enable trigger staff_audit_log_append_only`).execute(root());
  };

  test('entries chain; the database refuses UPDATE, DELETE and TRUNCATE', async () => {
    const audit = system.platform.audit;
    const first = await audit.record({ staffId: 'stf_a', action: 'user.transactions.read', reason: 'ticket 1: refund question', subjectUserId: 'usr_1' });
    const second = await audit.record({ staffId: 'stf_a', action: 'ticket.reply', subjectType: 'ticket', subjectId: 'tkt_1', details: { words: 12 } });
    assert.equal(second.prev_hash, first.hash);
    assert.equal(second.seq, first.seq + 1n);
    assert.deepEqual((await verify()).code, 0);
    await assert.rejects(sql.raw(`update ${platformSchema}.staff_audit_log set reason = 'nothing to see'`).execute(root()), /append-only/);
    await assert.rejects(sql.raw(`delete from ${platformSchema}.staff_audit_log`).execute(root()), /append-only/);
    await assert.rejects(sql.raw(`truncate ${platformSchema}.staff_audit_log`).execute(root()), /append-only/);
    await assert.rejects(sql.raw(`delete from ${platformSchema}.staff_audit_head`).execute(root()), /append-only/);
    assert.equal((await audit.search({ subjectUserId: 'usr_1', limit: 10 }))[0]!.reason, 'ticket 1: refund question');
  });

  test('the verify command finds a changed entry, a removed entry and a removed last entry', async () => {
    const audit = system.platform.audit;
    const entries: AuditEntry[] = [];
    for (let i = 0; i < 5; i++) entries.push(await audit.record({ staffId: 'stf_b', action: 'user.profile.read', reason: `look ${i}`, subjectUserId: `usr_${i}` }));
    assert.equal((await verify()).code, 0);

    await tamper(`update ${platformSchema}.staff_audit_log set reason = 'an innocent reason' where seq = ${entries[1]!.seq}`);
    let result = await verify();
    assert.equal(result.code, 2);
    assert.ok(result.lines.some((l) => l.includes(`seq ${entries[1]!.seq}: hash_mismatch`)), result.lines.join('\n'));
    await tamper(`update ${platformSchema}.staff_audit_log set reason = 'look 1' where seq = ${entries[1]!.seq}`);
    assert.equal((await verify()).code, 0, 'put back exactly, the chain verifies again');

    // Changing the content and recomputing its hash still breaks the link to the next entry.
    const forged = { ...entries[2]!, reason: 'forged' };
    const { hash: _old, ...unhashed } = forged;
    await tamper(`update ${platformSchema}.staff_audit_log set reason = 'forged', hash = '${auditEntryHash(unhashed)}' where seq = ${entries[2]!.seq}`);
    result = await verify();
    assert.ok(result.lines.some((l) => l.includes(`seq ${entries[3]!.seq}: chain_broken`)), result.lines.join('\n'));
    await tamper(`update ${platformSchema}.staff_audit_log set reason = 'look 2', hash = '${entries[2]!.hash}' where seq = ${entries[2]!.seq}`);

    await tamper(`delete from ${platformSchema}.staff_audit_log where seq = ${entries[3]!.seq}`);
    result = await verify();
    assert.ok(result.lines.some((l) => l.includes(`seq ${entries[4]!.seq}: sequence_gap`)), result.lines.join('\n'));
    await tamper(`insert into ${platformSchema}.staff_audit_log values (${entries[3]!.seq}, '${entries[3]!.id}', '${entries[3]!.at.toISOString()}', 'stf_b', `
      + `'user.profile.read', 'look 3', 'usr_3', null, null, '{}', null, '${entries[3]!.prev_hash}', '${entries[3]!.hash}')`);
    assert.equal((await verify()).code, 0);

    await tamper(`delete from ${platformSchema}.staff_audit_log where seq = ${entries[4]!.seq}`);
    result = await verify();
    assert.ok(result.lines.some((l) => l.includes('head_mismatch')), result.lines.join('\n'));
  });
});
