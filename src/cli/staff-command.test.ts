import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { base32Decode, totp } from '../platform/staff/totp.ts';
import { startTestSystem } from './test-system.ts';
import { createStaffMember } from './staff-command.ts';
import { createMemoryKeyring } from '../infra/keys/keyring.ts';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mipay-staff-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('`mipay staff create` makes the first admin (secrets printed once) and `mipay staff audit verify` checks the chain', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, MIPAY_DATA_DIR: join(dir, 'data'), MIPAY_KEYRING: join(dir, 'keyring.json'), MIPAY_LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.MIPAY_MODE;
  const created = spawnSync(process.execPath, [bin, 'staff', 'create', '--email', 'Admin@Example.com', '--name', 'Ops Admin', '--role', 'admin', '--role', 'compliance_officer'], { env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /^staff member stf_\S+ \(admin@example\.com\), roles: admin, compliance_officer$/m);
  assert.match(created.stdout, /^password {6}\S{20,}$/m);
  assert.match(created.stdout, /^TOTP secret {3}[A-Z2-7]{32}$/m);
  assert.match(created.stdout, /^otpauth URI {3}otpauth:\/\/totp\/Mi%20Pay%20Open%20ops:admin%40example\.com\?secret=/m);

  const bad = spawnSync(process.execPath, [bin, 'staff', 'create', '--email', 'x@example.com', '--name', 'X', '--role', 'root'], { env, encoding: 'utf8', timeout: 300_000 });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /support_agent, risk_reviewer, compliance_officer, admin/);

  const verified = spawnSync(process.execPath, [bin, 'staff', 'audit', 'verify'], { env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(verified.status, 0, verified.stderr);
  assert.match(verified.stdout, /audit log intact: 1 entries/);
});

test('the first admin created by the CLI code logs in with the printed secret', async () => {
  const keyring = createMemoryKeyring();
  const system = await startTestSystem({ keyring });
  try {
    const lines: string[] = [];
    await createStaffMember(system.database, keyring, { email: 'first@example.com', name: 'First', roles: ['admin'], clock: system.clock.now }, (l) => lines.push(l));
    const password = lines.find((l) => l.startsWith('password'))!.split(/\s+/)[1]!;
    const secret = base32Decode(lines.find((l) => l.startsWith('TOTP secret'))!.split(/\s+/)[2]!);
    const login = await system.platform.app.inject({
      method: 'POST', url: '/ops/v1/sessions', payload: { email: 'first@example.com', password, totp_code: totp(secret, system.clock.now()) },
    });
    assert.equal(login.statusCode, 201, login.body);
    assert.deepEqual(login.json().staff.roles, ['admin']);
  } finally {
    await system.close();
  }
});
