/**
 * Test support for /ops routes: a staff member with the given roles, logged in through the real
 * login (password + TOTP code from the secret), answering the staff token.
 */
import type { TestSystem } from '../../cli/test-system.ts';
import type { StaffRole } from './tables.ts';
import { totp } from './totp.ts';

let counter = 0;
export const testStaffPassword = 'staff-pass-word-1';

export interface TestStaff {
  staffId: string;
  email: string;
  token: string;
  totpSecret: Buffer;
}

/** Creates a staff member holding `roles` and logs them in; `createdBy` null is the CLI's first admin. */
export async function createTestStaff(system: TestSystem, roles: StaffRole[], createdBy: string | null = null): Promise<TestStaff> {
  counter += 1;
  const email = `staff${counter}-${Date.now()}@ops.example`;
  const created = await system.platform.staff.create({ email, name: `Staff ${counter}`, password: testStaffPassword, roles, createdBy });
  const token = await logInTestStaff(system, email, created.totpSecret);
  return { staffId: created.staff.id, email, token, totpSecret: created.totpSecret };
}

/**
 * A client address of its own for each test login, so the per-address login limit (10 a minute)
 * does not refuse a test that logs many staff members in; tests of that limit use one address.
 */
export function testStaffAddress(): string {
  counter += 1;
  return `10.${(counter >> 8) & 255}.${counter & 255}.${1 + (counter % 250)}`;
}

/** Logs a staff member in with the code of the clock's current step (each step's code works once: move the clock between logins). */
export async function logInTestStaff(system: TestSystem, email: string, totpSecret: Buffer): Promise<string> {
  const response = await system.platform.app.inject({
    method: 'POST', url: '/ops/v1/sessions', remoteAddress: testStaffAddress(),
    payload: { email, password: testStaffPassword, totp_code: totp(totpSecret, system.clock.now()) },
  });
  if (response.statusCode !== 201) throw new Error(`staff login failed: ${response.statusCode} ${response.body}`);
  return response.json().token as string;
}
