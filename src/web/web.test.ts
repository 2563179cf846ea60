// The web in a real browser (playwright-core driving the system Chromium at /usr/bin/chromium;
// nothing downloads a browser): the built web served by the platform of a whole test system,
// the user's journeys in Chinese and in English, an axe-core scan of every page, and the
// screenshots kept in a folder this file prints. One browser for the file.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { en, zh, type Strings } from '../../web/src/strings.ts';
import { sandboxResidentId } from '../cli/sandbox-journey.ts';
import { apiClient, latestSmsCode, startTestSystem, type TestSystem } from '../cli/test-system.ts';
import { keysTargetDefault } from '../phone/wallet.ts';
import { createHttpApp } from '../infra/http/server.ts';
import { createLogger } from '../infra/log/logger.ts';
import { ensureWebBuilt } from './build.ts';
import { registerWebRoutes } from './serve.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = join(tmpdir(), `mipay-web-screenshots-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);

let system: TestSystem;
let browser: Browser;
let base: string;

describe('the web in Chromium', () => {
  before(async () => {
    await ensureWebBuilt();
    // A loaded machine (the suite runs files side by side): the bank gets 10 s before the network reverses.
    system = await startTestSystem({ networkBankTimeoutMs: 10_000 });
    base = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    mkdirSync(shots, { recursive: true });
    process.stdout.write(`# web screenshots: ${shots}\n`);
  });

  after(async () => {
    await browser?.close();
    await system?.close();
  });

  /** axe-core injected into the page: no serious or critical violation. */
  async function assertAccessible(page: Page, what: string): Promise<void> {
    await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async () => {
      const result = await (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: unknown }[] }[] }> } }).axe.run();
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
    });
    assert.deepEqual(violations, [], `${what}: serious accessibility violations`);
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }

  let people = 0;
  /** A person with a bank card from a sandbox bank (the bank's desk, not the web). */
  async function person(lang: string) {
    people += 1;
    const n = String(process.pid % 10_000).padStart(4, '0') + String(people).padStart(2, '0');
    const holder = { name: lang === 'zh' ? '王小明' : '李雷', idNumber: sandboxResidentId('1988-03-14', (process.pid + people * 37) % 500) };
    const phone = `137${n}${lang === 'zh' ? '1' : '2'}`.slice(0, 11).padEnd(11, '0');
    const reservedPhone = `159${n}${lang === 'zh' ? '1' : '2'}`.slice(0, 11).padEnd(11, '0');
    const issued = await apiClient(system.bank.app)('POST', '/v1/sandbox/cards', {
      body: { bank_code: 'CMB', kind: 'debit', holder_name: holder.name, id_number: holder.idNumber, reserved_phone: reservedPhone, balance_fen: 500_000 },
    });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    return { ...holder, phone, reservedPhone, cardNumber: issued.body.card_number as string, password: 'correct-horse-9' };
  }

  const bankBalance = async (cardNumber: string) => (await apiClient(system.bank.app)('POST', '/v1/sandbox/cards/account', { body: { card_number: cardNumber } })).body.balance_fen as number;

  for (const lang of ['zh', 'en'] as const) {
    const t: Strings = lang === 'zh' ? zh : en;

    describe(`the web in ${lang}`, () => {
      test('sign up, open the payment account, add a card to a lab phone, tap the lab POS; turn Mi Pay off and on from the user centre', async () => {
        const me = await person(lang);
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, bypassCSP: true }); // bypassCSP: only to inject axe-core
        context.setDefaultTimeout(60_000);
        const page = await context.newPage();
        try {
          await page.goto(`${base}/`);
          if (lang === 'en') await page.getByRole('button', { name: zh.language }).click();
          await page.getByRole('heading', { name: t.logIn }).waitFor();
          await assertAccessible(page, 'log in');
          await shot(page, `${lang}-01-log-in`);

          // Sign up with a code texted to the phone.
          await page.getByRole('button', { name: t.noAccount }).click();
          await page.getByLabel(t.phone).fill(me.phone);
          await page.getByRole('button', { name: t.sendCode }).click();
          await page.getByText(t.codeSent.replace('{{phone}}', me.phone)).waitFor();
          await page.getByLabel(t.smsCode).fill(await latestSmsCode(system.platform.app, me.phone));
          await page.getByLabel(t.nickname).fill(me.name);
          await page.getByLabel(t.password).fill(me.password);
          await assertAccessible(page, 'sign up');
          await page.getByRole('button', { name: t.signUp, exact: true }).click();
          await page.getByRole('navigation', { name: t.nav }).waitFor();
          await assertAccessible(page, 'overview');

          // The payment account, with the bank's four-element check and its SMS code.
          await page.getByRole('navigation').getByRole('link', { name: t['section.account'], exact: true }).click();
          await page.getByLabel(t.holderName).fill(me.name);
          await page.getByLabel(t.idNumber).fill(me.idNumber);
          await page.getByLabel(t.cardNumber).fill(me.cardNumber);
          await page.getByLabel(t.reservedPhone).fill(me.reservedPhone);
          await assertAccessible(page, 'open the payment account');
          await page.getByRole('button', { name: t.apply }).click();
          await page.getByLabel(t.smsCode).waitFor();
          await page.getByLabel(t.smsCode).fill(await latestSmsCode(system.platform.app, me.reservedPhone));
          await page.getByLabel(t.paymentPassword).fill('135790');
          await page.getByRole('button', { name: t.openAccount }).click();
          await page.getByTestId('account-class').waitFor();
          await assertAccessible(page, 'payment account');
          await shot(page, `${lang}-02-payment-account`);

          // A lab phone logs in to the account; the bound card is added to it (fingerprint, then the bank's code).
          await page.goto(`${base}/lab`);
          await page.getByLabel(t['lab.passwordForPhone']).fill(me.password);
          await page.getByRole('button', { name: t['lab.newPhone'] }).click();
          await page.getByText(t['lab.notArmed']).waitFor();
          system.clock.advance(2 * 60_000); // the bank texts a phone at most once a minute
          await page.getByLabel(t['lab.cardPick']).fill(me.cardNumber.slice(-4));
          await page.getByRole('button', { name: t['lab.addCard'] }).click();
          await page.getByLabel(t.smsCode).waitFor();
          await page.getByLabel(t.smsCode).fill(await latestSmsCode(system.platform.app, me.reservedPhone));
          await page.getByRole('button', { name: t['lab.confirmCard'] }).click();
          await page.getByRole('radio').first().waitFor();
          await assertAccessible(page, 'lab');

          // Fingerprint, amount on the keypad, tap: APDUs, ISO 8583, the bank's debit.
          const before = await bankBalance(me.cardNumber);
          await tap(page, t, ['2', '3', '.', '5', '0']);
          await page.getByTestId('pos-result').getByText(t['lab.approved']).waitFor();
          assert.equal(await bankBalance(me.cardNumber), before - 2_350);
          const receipt = await page.getByTestId('receipt').textContent() ?? '';
          assert.match(receipt, /23\.50/);
          assert.ok(!receipt.includes(me.cardNumber), 'the receipt never shows the card number');
          await page.getByTestId('trace').getByText(/approved: 00/).first().waitFor(); // the trace's last line of the tap
          const trace = await page.getByTestId('trace').textContent() ?? '';
          assert.match(trace, /C 00A40400/, 'the SELECT command APDU is traced');
          assert.match(trace, /← MTI 0210/, 'the network\'s answer is traced');
          assert.match(trace, /2=62999[0-9]\*+[0-9]{4}/, 'field 2 shows the device card number masked');
          assert.doesNotMatch(trace, /62999[0-9]{8}/, 'the device card number is never shown whole');
          assert.ok(!trace.includes(me.cardNumber));
          await page.getByTestId('phone-history').getByText(t['lab.approved']).waitFor();
          await shot(page, `${lang}-03-lab-approved`);

          // Balance and history: a top-up from the bound card shows in the history, its detail and the CSV.
          // Risk control steps up a top-up of ¥100 or more from a card bound less than 10 minutes ago
          // (rule `fresh_card`): the card was bound when the payment account opened, so let time pass.
          system.clock.advance(11 * 60_000);
          await page.goto(`${base}/#history`);
          await page.getByLabel(t['lab.amount']).fill('100');
          await page.getByLabel(t.paymentPassword).fill('135790');
          await page.getByRole('button', { name: t.topUp }).click();
          await page.getByRole('cell', { name: t['type.top_up'] }).waitFor();
          await page.getByTestId('history-balance').getByText('¥100.00').waitFor();
          await page.getByRole('button', { name: t.detail }).first().click();
          await page.getByText(t.traceId).waitFor();
          await assertAccessible(page, 'history');
          const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: t.downloadCsv }).click()]);
          const csv = readFileSync((await download.path())!, 'utf8');
          assert.match(csv, /100\.00|10000/, csv);
          writeFileSync(join(shots, `${lang}-transactions.csv`), csv);
          await shot(page, `${lang}-04-history`);

          // The phone is lost: Mi Pay off with one confirm; its next tap is declined at the POS.
          await page.getByRole('navigation').getByRole('link', { name: t['section.devices'], exact: true }).click();
          await page.getByRole('button', { name: t.turnOff }).click();
          await page.getByRole('alertdialog').getByRole('button', { name: t.confirm }).click();
          await page.getByTestId('device-status').getByText(t['status.disabled']).waitFor();
          await assertAccessible(page, 'devices');
          await shot(page, `${lang}-05-turned-off`);
          await page.goto(`${base}/lab`);
          const afterFirst = await bankBalance(me.cardNumber);
          await tap(page, t, ['9']);
          await page.getByTestId('pos-result').getByText(t['lab.declined']).waitFor();
          assert.equal(await bankBalance(me.cardNumber), afterFirst, 'a declined tap moves no money');
          await shot(page, `${lang}-06-lab-declined`);

          // Found: back on with the password; after a sync brings new keys, it pays again.
          await page.goto(`${base}/#devices`);
          await page.getByLabel(t.password).fill(me.password);
          await page.getByRole('button', { name: t.turnOn }).click();
          await page.getByTestId('device-status').getByText(t['status.active']).waitFor();
          await page.goto(`${base}/lab`);
          await page.getByRole('button', { name: t['lab.sync'] }).click();
          // Turned off, the phone's keys were retired; the sync restocks to the wallet's offline stock.
          await page.getByText(t['lab.keysLeft'].replace('{{n}}', String(keysTargetDefault))).waitFor();
          await tap(page, t, ['1', '2']);
          await page.getByTestId('pos-result').getByText(t['lab.approved']).waitFor();
          assert.equal(await bankBalance(me.cardNumber), afterFirst - 1_200);

          // The other pages: cards, security (log out elsewhere), the placeholders, the console, and a phone's width.
          await page.goto(`${base}/#cards`);
          await page.getByRole('heading', { name: t.transitCards }).waitFor();
          await assertAccessible(page, 'cards');
          await page.goto(`${base}/#security`);
          await page.getByRole('button', { name: t.logOutElsewhere }).click();
          await page.getByText(new RegExp(t.loggedOutElsewhere.replace('{{n}}', '[0-9]+'))).waitFor();
          await assertAccessible(page, 'security');
          for (const section of ['privacy', 'support'] as const) {
            await page.goto(`${base}/#${section}`);
            await page.getByText(new RegExp(t.comingWith.split('{{n}}')[0]!)).waitFor();
            await assertAccessible(page, section);
          }
          await page.goto(`${base}/ops`);
          await page.getByText(t['ops.waits']).waitFor();
          await assertAccessible(page, 'ops');
          await page.setViewportSize({ width: 375, height: 800 });
          await page.goto(`${base}/lab`);
          await page.getByTestId('phone-history').waitFor();
          await assertAccessible(page, 'lab at a phone\'s width');
          await shot(page, `${lang}-07-lab-phone-width`);
        } catch (error) {
          await shot(page, `${lang}-failed`).catch(() => undefined);
          throw error;
        } finally {
          await context.close();
        }
      });
    });
  }

  /** Pick the first card, press the fingerprint, key the amount on the POS, tap. */
  async function tap(page: Page, t: Strings, keys: string[]): Promise<void> {
    await page.getByRole('radio').first().check();
    await page.getByRole('button', { name: t['lab.finger'] }).click();
    await page.getByTestId('armed').getByText(new RegExp(t['lab.armed'].split('{{s}}')[0]!)).waitFor();
    await page.getByRole('button', { name: t['lab.clear'] }).click();
    for (const key of keys) await page.getByRole('group', { name: t['lab.digits'] }).getByRole('button', { name: key, exact: true }).click();
    await page.getByRole('button', { name: t['lab.tap'] }).click();
  }

  describe('the built web and the routes serving it', () => {
    test('the initial JavaScript (the entry and its static imports, from the build manifest) is at most 250 kB gzipped', async () => {
      const { gzipSync } = await import('node:zlib');
      const dist = new URL('../../web/dist/', import.meta.url).pathname;
      const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<string, { file: string; isEntry?: boolean; imports?: string[] }>;
      const entry = Object.entries(manifest).find(([, chunk]) => chunk.isEntry);
      assert.ok(entry, 'the manifest names an entry');
      const seen = new Set<string>();
      const visit = (key: string) => {
        if (seen.has(key)) return;
        seen.add(key);
        for (const imported of manifest[key]?.imports ?? []) visit(imported);
      };
      visit(entry[0]);
      const bytes = [...seen].reduce((sum, key) => sum + gzipSync(readFileSync(join(dist, manifest[key]!.file))).length, 0);
      process.stdout.write(`# initial JavaScript: ${(bytes / 1024).toFixed(1)} kB gzipped\n`);
      assert.ok(bytes <= 250 * 1024, `${bytes} bytes gzipped`);
    });

    test('in production the lab is a 404 and the user centre and the console are served', async () => {
      const app = await createHttpApp({ party: 'platform', title: 'web', description: 'web', version: '0', logger: createLogger({ name: 'web-test', level: 'silent' }) });
      registerWebRoutes(app, { sandbox: false });
      try {
        assert.equal((await app.inject({ method: 'GET', url: '/lab' })).statusCode, 404);
        assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
        assert.equal((await app.inject({ method: 'GET', url: '/ops' })).statusCode, 200);
      } finally {
        await app.close();
      }
    });

    test('only built assets are served; pages carry a content security policy; another account\'s lab phone is a 404', async () => {
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      for (const path of ['/assets/..%2f..%2fpackage.json', '/assets/.vite', '/assets/nothing.js', '/web/src/api.ts']) {
        assert.equal((await fetch(`${base}${path}`)).status, 404, path);
      }
      // The lab needs a session, and a phone is its account's alone.
      assert.equal((await fetch(`${base}/v1/sandbox/lab/phones`)).status, 401);
      const a = await signUp();
      const b = await signUp();
      const made = await fetch(`${base}/v1/sandbox/lab/phones`, { method: 'POST', headers: { authorization: `Bearer ${a}`, 'content-type': 'application/json' }, body: JSON.stringify({ password: 'correct-horse-9' }) });
      assert.equal(made.status, 201, await made.clone().text());
      const phoneId = ((await made.json()) as { id: string }).id;
      const foreign = await fetch(`${base}/v1/sandbox/lab/phones/${phoneId}/sync`, { method: 'POST', headers: { authorization: `Bearer ${b}` } });
      assert.equal(foreign.status, 404);
      const wrongPassword = await fetch(`${base}/v1/sandbox/lab/phones`, { method: 'POST', headers: { authorization: `Bearer ${b}`, 'content-type': 'application/json' }, body: JSON.stringify({ password: 'wrong-password-1' }) });
      assert.equal(wrongPassword.status, 422);
      assert.equal(((await wrongPassword.json()) as { error: { code: string } }).error.code, 'lab_phone_refused');
      const listed = (await (await fetch(`${base}/v1/sandbox/lab/phones`, { headers: { authorization: `Bearer ${b}` } })).json()) as { data: unknown[] };
      assert.equal(listed.data.length, 0);
    });
  });

});

let signUps = 0;
async function signUp(): Promise<string> {
  signUps += 1;
  const phone = `136${String(process.pid % 100_000).padStart(5, '0')}${String(signUps).padStart(3, '0')}`;
  const call = apiClient(system.platform.app);
  assert.equal((await call('POST', '/v1/sms-codes', { body: { phone, purpose: 'sign_up' } })).status, 202);
  const made = await call('POST', '/v1/accounts', { body: { phone, sms_code: await latestSmsCode(system.platform.app, phone), password: 'correct-horse-9', nickname: 'lab' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return (await call('POST', '/v1/sessions', { body: { phone, password: 'correct-horse-9' } })).body.token;
}
