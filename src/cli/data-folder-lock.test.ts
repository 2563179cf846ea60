import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireDataFolderLock, DataFolderLockedError, lockFileName, lockOwner, processAlive } from './data-folder-lock.ts';

test('one holder at a time; the holder named; released on demand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mipay-lock-'));
  try {
    const lock = acquireDataFolderLock(dir, 'up');
    assert.equal(lockOwner(dir)?.pid, process.pid);
    assert.throws(() => acquireDataFolderLock(dir, 'migrate'), (error: unknown) =>
      error instanceof DataFolderLockedError && error.owner.pid === process.pid && /in use by `mipay up` \(pid [0-9]+/.test(error.message));
    lock.release();
    assert.equal(existsSync(join(dir, lockFileName)), false);
    acquireDataFolderLock(dir, 'migrate').release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock left by a process that died is taken over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mipay-lock-'));
  try {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    assert.equal(processAlive(deadPid), false);
    writeFileSync(join(dir, lockFileName), JSON.stringify({ pid: deadPid, command: 'up', started_at: '2026-11-30T00:00:00Z' }));
    assert.equal(lockOwner(dir), undefined);
    const lock = acquireDataFolderLock(dir, 'up');
    assert.equal(lockOwner(dir)?.pid, process.pid);
    lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
