// For tests: asserting that opening or writing a phone's state file fails with a given SecureElementError.
import assert from 'node:assert/strict';
import { SecureElementError } from './secure-element.ts';

/** Awaits `promise` and checks it rejects with a SecureElementError of `code` whose message matches. */
export async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SecureElementError, `a SecureElementError, not ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}
