// `mipay phone …` and `mipay pos charge --phone` through the real `mipay` binary, each command
// its own process, against a system running in this process on real ports (its clock can be
// moved, so the bank's one-code-a-minute limit does not make the test wait).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { latestSmsCode, openPaymentAccount, startTestSystem, type AccountHolder, type TestSystem } from './test-system.ts';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;
const passphrase = 'cli phone passphrase';

interface Run { status: number | null; stdout: string; stderr: string }

describe('mipay phone, as processes against a running platform', () => {
  let system: TestSystem;
  let holder: AccountHolder;
  let dataDir: string;
  let phoneFile: string;
  let platformUrl: string;

  /** Runs `mipay <args>` as its own process; asynchronously, since the platform answering it runs in this one. */
  function mipay(...args: string[]): Promise<Run> {
    return new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, MIPAY_DATA_DIR: dataDir, MIPAY_PHONE_PASSPHRASE: passphrase, MIPAY_LOG_LEVEL: 'warn' };
      const child = spawn(process.execPath, [bin, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => { stdout += String(chunk); });
      child.stderr.on('data', (chunk) => { stderr += String(chunk); });
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
    holder = await openPaymentAccount(system, { bank: 'CMB', name: '郑七', separateReservedPhone: true, balanceFen: 500_000 });
    dataDir = mkdtempSync(join(tmpdir(), 'mipay-phone-cli-'));
    phoneFile = join(dataDir, 'phone.se.json');
    // The data folder as `mipay up` leaves it for `mipay pos`: the runtime file and a registered sandbox terminal.
    const network = system.network.server.address()!;
    writeFileSync(join(dataDir, 'runtime.json'), JSON.stringify({ platform_url: platformUrl, network_host: network.host, network_port: network.port }));
    const terminal = await system.network.registerTerminal({ terminalId: 'MIPOS001', merchantId: '898110058120001', merchantName: 'MI HOME BEIJING', mcc: '5732' });
    writeFileSync(join(dataDir, 'pos-terminal.json'), JSON.stringify({
      terminal_id: terminal.terminalId, merchant_id: terminal.merchantId, merchant_name: terminal.merchantName, mcc: terminal.mcc,
      terminal_master_key: terminal.terminalMasterKey.toString('hex'), last_stan: 0,
    }));
  });
  after(async () => {
    await system.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let tokenLast4 = '';

  test('create → login → add-card (two steps) → cards → pay, each a `mipay phone` process on one state file', async () => {
    const created = await mipay('phone', 'create', '--passcode', '246810', '--finger', 'right-thumb');
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /phone created in .*phone\.se\.json: Mi 9, MIUI 10\.2\.3\.0, device id imei-[0-9a-f]+, finger right-thumb enrolled/);
    assert.equal(statSync(phoneFile).mode & 0o777, 0o600);
    const again = await mipay('phone', 'create', '--passcode', '246810');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds a phone/);

    const wrongPassphrase = await mipay('phone', 'cards', '--passphrase', 'not the passphrase');
    assert.equal(wrongPassphrase.status, 1);
    assert.match(wrongPassphrase.stderr, /Wrong passphrase/);

    const login = await mipay('phone', 'login', '--account-phone', holder.phone, '--password', 'correct-horse-9');
    assert.equal(login.status, 0, login.stderr);
    assert.match(login.stdout, /logged in as usr_\S+; this phone is device dev_\S+/);

    const wrongFinger = await mipay('phone', 'add-card', '--card', holder.cardNumber.slice(-4), '--finger', 'left-index');
    assert.equal(wrongFinger.status, 1);
    assert.match(wrongFinger.stderr, /Fingerprint not recognized \(4 tries left\)\. \[fingerprint_not_recognized, flag --finger\]/);

    // The bank sent this card a code when the payment account opened: one a minute per card.
    system.clock.advance(61_000);
    const applied = await mipay('phone', 'add-card', '--card', holder.cardNumber.slice(-4), '--finger', 'right-thumb');
    assert.equal(applied.status, 0, applied.stderr);
    assert.match(applied.stdout, /fingerprint verified; 招商银行 texted a code to \S*\*+\S*/);
    const code = await latestSmsCode(system.platform.app, holder.reservedPhone);
    const wrongCode = await mipay('phone', 'add-card', '--sms-code', String((Number(code) + 1) % 1_000_000).padStart(6, '0'));
    assert.equal(wrongCode.status, 1);
    assert.match(wrongCode.stderr, /The code is wrong; 4 tries left\. \[sms_code_wrong, flag --sms-code\]/);
    const added = await mipay('phone', 'add-card', '--sms-code', code);
    assert.equal(added.status, 0, added.stderr);
    const match = /added 招商银行 debit card as device card (dc_\S+): \*\*\*\* ([0-9]{4}), 10 payment keys for offline use/.exec(added.stdout);
    assert.ok(match, added.stdout);
    tokenLast4 = match[2]!;
    assert.notEqual(tokenLast4, holder.cardNumber.slice(-4));

    const cards = await mipay('phone', 'cards', '--bound');
    assert.equal(cards.status, 0, cards.stderr);
    assert.match(cards.stdout, new RegExp(`${match[1]}  招商银行 debit \\*\\*\\*\\* ${tokenLast4}  active  10 payment keys until`));
    assert.match(cards.stdout, new RegExp(`bound: ${holder.cardId}  招商银行 debit`));

    const pay = await mipay('phone', 'pay', '--card', tokenLast4, '--finger', 'right-thumb');
    assert.equal(pay.status, 0, pay.stderr);
    assert.match(pay.stdout, new RegExp(`armed: 招商银行 \\*\\*\\*\\* ${tokenLast4} until [0-9:]{8} UTC`));
    assert.match((await mipay('phone', 'cards')).stdout, /active ARMED {2}10 payment keys/);
  });

  test('`mipay pos charge --phone`: the armed phone taps offline, the network has the TSP verify it, the bank debits the card; the receipt shows the token\'s last 4', async () => {
    assert.ok(tokenLast4, 'the previous test added a card and armed the phone');
    const balance = async () => (await system.bank.app.inject({ method: 'POST', url: '/v1/sandbox/cards/account', payload: { card_number: holder.cardNumber } })).json().balance_fen as number;
    const before = await balance();
    const charge = await mipay('pos', 'charge', '23.50', '--phone', phoneFile);
    assert.equal(charge.status, 0, charge.stdout + charge.stderr);
    assert.match(charge.stdout, new RegExp(`CARD {6}UnionPay Debit \\*\\*\\*\\* ${tokenLast4} \\(C\\)`));
    assert.ok(!charge.stdout.includes(holder.cardNumber.slice(-4)) || holder.cardNumber.slice(-4) === tokenLast4, 'the card\'s own number is not on the receipt');
    assert.match(charge.stdout, /AMOUNT {4}CNY 23\.50/);
    assert.match(charge.stdout, /RESPONSE {2}00 /);
    assert.match(charge.stdout, /APPROVED\nDEVICE VERIFIED/);
    assert.equal(await balance(), before - 2_350);
    const rrn = /RRN {7}(\S{12})/.exec(charge.stdout)![1]!;

    // One tap per fingerprint: the phone disarmed itself and spent exactly one key.
    assert.match((await mipay('phone', 'cards')).stdout, new RegExp(`${tokenLast4}  active  9 payment keys`));
    const unarmed = await mipay('pos', 'charge', '1.00', '--phone', phoneFile);
    assert.equal(unarmed.status, 1);
    assert.match(unarmed.stderr, /the phone refused the tap \(GET PROCESSING OPTIONS: conditions of use not satisfied\): arm it first with `npx mipay phone pay/);
    assert.match((await mipay('phone', 'cards')).stdout, /9 payment keys/, 'a refused tap spends nothing');

    // The refund taps the same phone, armed again — for a refund only.
    const armed = await mipay('phone', 'pay', '--card', tokenLast4, '--finger', 'right-thumb', '--refund');
    assert.match(armed.stdout, /armed for a refund: .* \(npx mipay pos refund <amount> --rrn <rrn> --phone /);
    const refund = await mipay('pos', 'refund', '23.50', '--phone', phoneFile, '--rrn', rrn);
    assert.match(refund.stdout, new RegExp(`\\*\\*\\*\\* ${tokenLast4} \\(C\\)`));
    assert.match(refund.stdout, /TYPE {6}REFUND/);
    assert.equal(refund.status, 0, refund.stdout + refund.stderr);
    assert.equal(await balance(), before);

    // A pre-authorization with a tap, completed later with no tap.
    assert.equal((await mipay('phone', 'pay', '--card', tokenLast4, '--finger', 'right-thumb')).status, 0);
    const hold = await mipay('pos', 'charge', '100', '--phone', phoneFile, '--auth-only');
    assert.match(hold.stdout, /TYPE {6}PRE-AUTH 预授权/);
    const holdRrn = /RRN {7}(\S{12})/.exec(hold.stdout)![1]!;
    const completed = await mipay('pos', 'complete', '95.50', '--rrn', holdRrn);
    assert.equal(completed.status, 0, completed.stdout + completed.stderr);
    assert.match(completed.stdout, new RegExp(`CARD {6}\\*\\*\\*\\* ${tokenLast4}\n`));
    assert.match(completed.stdout, /TYPE {6}PRE-AUTH COMPLETION 预授权完成/);
    assert.equal(await balance(), before - 9_550);
    const again = await mipay('pos', 'complete', '1', '--rrn', holdRrn);
    assert.equal(again.status, 2);
    assert.match(again.stdout, /RESPONSE {2}25 /);
  });

  test('`mipay phone history` shows the tap, its refund, the pre-authorization, its completion and the refused second one; `mipay phone card suspend|resume`', async () => {
    assert.ok(tokenLast4, 'the first test added a card');
    await system.tsp.notices.settled();
    const history = await mipay('phone', 'history', '--card', tokenLast4);
    assert.equal(history.status, 0, history.stderr);
    // The test clock stands still, so the lines share one time and their order among themselves is not asserted.
    const lines = history.stdout.trim().split('\n');
    assert.deepEqual(lines.map((l) => /Z  (\S+)/.exec(l)?.[1]).sort(), ['completion', 'completion', 'payment', 'preauthorization', 'refund'], history.stdout);
    const line = (pattern: RegExp) => assert.equal(lines.filter((l) => pattern.test(l)).length, 1, `${pattern} in\n${history.stdout}`);
    line(new RegExp(`payment +¥23\\.50  MI HOME BEIJING \\[MCC 5732\\]  \\*\\*\\*\\*${tokenLast4}  approved$`));
    line(/refund +¥23\.50 .* approved \(refund of txn_\S+\)$/);
    line(/preauthorization +¥100\.00 .* approved$/);
    line(/completion +¥95\.50 .* approved \(completes txn_\S+\)$/);
    line(/completion +¥1\.00 .* declined 25 NO_AUTHORIZATION \(completes txn_\S+\)$/);

    const suspended = await mipay('phone', 'card', 'suspend', '--card', tokenLast4);
    assert.equal(suspended.status, 0, suspended.stderr);
    assert.match(suspended.stdout, /: suspended on the platform\n.*active → suspended on this phone/);
    const resumed = await mipay('phone', 'card', 'resume', '--card', tokenLast4);
    assert.match(resumed.stdout, /: active on the platform\n.*suspended → active on this phone/);
    assert.match((await mipay('phone', 'card', 'freeze', '--card', tokenLast4)).stderr, /suspend, resume or delete/);
  });

  test('unlock after five wrong fingers, sync, find-device off wiping the card, logout — each a process', async () => {
    assert.ok(tokenLast4, 'the first test added a card');
    for (let i = 0; i < 4; i++) assert.match((await mipay('phone', 'pay', '--card', tokenLast4, '--finger', 'left-index')).stderr, /fingerprint_not_recognized/);
    const locked = await mipay('phone', 'pay', '--card', tokenLast4, '--finger', 'left-index');
    assert.match(locked.stderr, /locked after 5 wrong tries: unlock with the device passcode\. \[fingerprint_locked, flag --finger\]/);
    assert.match((await mipay('phone', 'pay', '--card', tokenLast4, '--finger', 'right-thumb')).stderr, /fingerprint_locked/);
    assert.match((await mipay('phone', 'unlock', '--passcode', '000000')).stderr, /Wrong device passcode\. \[passcode_wrong, flag --passcode\]/);
    assert.match((await mipay('phone', 'unlock', '--passcode', '246810')).stdout, /fingerprint unlocked/);
    assert.equal((await mipay('phone', 'pay', '--card', tokenLast4, '--finger', 'right-thumb')).status, 0);

    const synced = await mipay('phone', 'sync');
    assert.equal(synced.status, 0, synced.stderr);
    // The sync after `card resume` (the previous test) already topped the keys up to the week's stock (issue 12).
    assert.match(synced.stdout, /in sync: nothing changed/);
    const off = await mipay('phone', 'settings', '--find-device', 'off');
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stdout, new RegExp(`wiped \\*\\*\\*\\* ${tokenLast4} \\(dc_\\S+\\): deleted on the platform; its keys are gone\nfind-device off`));
    assert.match((await mipay('phone', 'cards')).stdout, /no device cards on this phone/);
    const logout = await mipay('phone', 'logout');
    assert.equal(logout.status, 0, logout.stderr);
    assert.match(logout.stdout, /logged out; 0 bank cards wiped/);
    assert.match((await mipay('phone', 'sync')).stderr, /Log in first: `npx mipay phone login`\. \[not_logged_in\]/);
  });

  test('`mipay pos charge` taps a card or a phone, never both, and says when the state file is missing', async () => {
    const missing = await mipay('pos', 'charge', '1.00', '--phone', join(dataDir, 'nope.se.json'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /No phone state file/);
    const both = await mipay('pos', 'charge', '1.00', '--phone', phoneFile, '--card', '6214830000000000');
    assert.equal(both.status, 1);
    assert.match(both.stderr, /not both/);
  });
});
