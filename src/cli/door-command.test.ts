// `mipay phone door-card …` and `mipay door …` through the real `mipay` binary, each command its
// own process on one phone state file and one door reader file, against a platform running in
// this process (for the backup and the logout).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from './test-system.ts';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;
const fixtures = new URL('../protocols/mifare/fixtures/', import.meta.url).pathname;
const passphrase = 'cli door passphrase';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe('mipay phone door-card and mipay door, as processes', () => {
  let system: TestSystem;
  let dataDir: string;
  let platformUrl: string;
  let account: { token: string; phone: string };

  function mipay(...args: string[]): Promise<Run> {
    return new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        MIPAY_DATA_DIR: dataDir,
        MIPAY_PHONE_PASSPHRASE: passphrase,
        MIPAY_LOG_LEVEL: 'warn',
      };
      const child = spawn(process.execPath, [bin, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += String(chunk);
      });
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', reject);
      child.once('exit', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  before(async () => {
    system = await startTestSystem();
    platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    account = await signUpAndLogIn(system);
    dataDir = mkdtempSync(join(tmpdir(), 'mipay-door-cli-'));
  });
  after(async () => {
    await system.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('copy a card, refuse an encrypted one, import a dump, open a door, back up, log out keeping it', async () => {
    const office = join(dataDir, 'office.json');
    const locked = join(dataDir, 'locked.bin');
    const made = await mipay(
      'door',
      'make-card',
      '--out',
      office,
      '--uid',
      '04A25C1A7B6080',
      '--size',
      '4k',
      '--data',
      '4:EMPLOYEE-0042',
    );
    assert.equal(made.status, 0, made.stderr);
    assert.equal(
      (await mipay('door', 'make-card', '--out', locked, '--uid', '11223344', '--sector-key', '5:5A3C9E17B2D4')).status,
      0,
    );

    assert.equal((await mipay('phone', 'create', '--passcode', '246810', '--platform-url', platformUrl)).status, 0);
    const login = await mipay('phone', 'login', '--account-phone', account.phone, '--password', 'correct-horse-9');
    assert.equal(login.status, 0, login.stderr);

    const copied = await mipay('phone', 'door-card', 'read', '--card', office, '--name', 'Office');
    assert.equal(copied.status, 0, copied.stderr);
    assert.match(
      copied.stdout,
      /^copied: door_\w{12} {2}"Office" {2}MIFARE Classic 4K\s+UID 04(:\*\*){5}:80 {2}from read {2}\(default\)\n$/,
    );
    const refused = await mipay('phone', 'door-card', 'read', '--card', locked);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /Sector 5 opens only with a key the phone does not know: .*\[door_card_encrypted, param card\]/,
    );
    const imported = await mipay('phone', 'door-card', 'import', join(fixtures, 'door-1k-v2.nfc'), '--name', 'Home');
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, /imported: .*"Home" {2}MIFARE Classic 1K {2}UID 5E:\*\*:\*\*:A9 {2}from flipper-nfc/);
    const damaged = await mipay('phone', 'door-card', 'import', join(fixtures, 'README.md'));
    assert.match(
      damaged.stderr,
      /not a dump format this phone reads .*\[door_card_dump_invalid, param file: file name\]/,
    );

    assert.equal((await mipay('door', 'create', '--name', 'Building A')).status, 0);
    assert.equal(statSync(join(dataDir, 'door-reader.json')).mode & 0o777, 0o600);
    const value = Buffer.from('EMPLOYEE-0042\0\0\0').toString('hex');
    assert.equal(
      (await mipay('door', 'allow', '04A25C1A7B6080', '--label', 'Zhang Wei', '--block', '4', '--value', value)).status,
      0,
    );
    const opened = await mipay('door', 'tap');
    assert.equal(opened.status, 0, opened.stderr);
    assert.match(opened.stdout, /OPENED {3}04:\*\*:\*\*:\*\*:\*\*:\*\*:80 \(Zhang Wei\) {2}UID and sector value match/);
    const stranger = await mipay('door', 'tap', '--card', locked);
    assert.equal(stranger.status, 2);
    assert.match(stranger.stdout, /REFUSED {2}11:\*\*:\*\*:44 {2}card not on the allowlist/);
    const screenOff = await mipay('door', 'tap', '--screen', 'off');
    assert.deepEqual(
      [screenOff.status, /REFUSED {2}\(no card\) {2}no card answered/.test(screenOff.stdout)],
      [2, true],
    );
    assert.match(
      (await mipay('phone', 'door-card', 'express', 'Office', 'on')).stdout,
      /express on: .*\(default, express\)/,
    );
    assert.equal((await mipay('door', 'tap', '--screen', 'off')).status, 0);
    const log = await mipay('door', 'log');
    assert.deepEqual(
      log.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/ {2,}/)[1]),
      ['OPENED', 'REFUSED', 'REFUSED', 'OPENED'],
    );
    assert.ok(!readFileSync(join(dataDir, 'door-reader.json'), 'utf8').includes('"uidMasked": "04A25C1A7B6080"'));

    const backup = await mipay('phone', 'door-card', 'backup', 'Office');
    assert.equal(backup.status, 0, backup.stderr);
    assert.match(backup.stdout, /backed up as dcb_\S+: name and UID 04:\*\*:\*\*:\*\*:\*\*:\*\*:80 only/);
    const backups = (await apiClient(system.platform.app)('GET', '/v1/door-cards', { token: account.token })).body.data;
    assert.deepEqual(
      backups.map((b: { name: string; uid_masked: string; card_type: string }) => [b.name, b.uid_masked, b.card_type]),
      [['Office', '04:**:**:**:**:**:80', 'mifare_classic_4k']],
    );
    assert.ok(!JSON.stringify(backups).includes('04A25C1A7B6080'), 'the platform never gets the full UID');

    const logout = await mipay('phone', 'logout');
    assert.equal(logout.status, 0, logout.stderr);
    assert.match(logout.stdout, /logged out; 0 bank cards wiped from this phone; 2 door cards kept/);
    const list = await mipay('phone', 'door-card', 'list');
    assert.match(list.stdout, /"Office" .*\(default, express, backed up\)\n.*"Home"/);
    assert.equal((await mipay('door', 'tap')).status, 0, 'the door still opens after logout');
  });

  test('rename, default and delete by name; an unknown card is named in the error', async () => {
    assert.match((await mipay('phone', 'door-card', 'rename', 'Home', '家')).stdout, /renamed: .*"家"/);
    assert.match((await mipay('phone', 'door-card', 'default', '家')).stdout, /default: .*"家" .*\(default\)/);
    assert.match(
      (await mipay('phone', 'door-card', 'delete', 'Office')).stdout,
      /deleted door_\S+ "Office" from this phone/,
    );
    assert.match(
      (await mipay('phone', 'door-card', 'delete', 'Garage')).stderr,
      /No door cards match "Garage"; door cards: door_\S+ "家"\. \[door_card_not_found, param card\]/,
    );
    const tap = await mipay('door', 'tap');
    assert.deepEqual(
      [tap.status, /REFUSED {2}5E:\*\*:\*\*:A9 {2}card not on the allowlist/.test(tap.stdout)],
      [2, true],
    );
  });
});
