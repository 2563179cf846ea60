// `mipay demo --transit`: the transit journey on a fresh embedded database — an account, a Mi
// phone, a 京津冀 T-Union card issued onto it, a top-up loaded online, a metro entry and exit
// with the phone offline (express mode, screen off), the gates' upload, the operator's
// settlement with every TAC verified, and the history merged from the card and the operator.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../infra/db/database.ts';
import { createMemoryKeyring } from '../infra/keys/keyring.ts';
import { createLogger } from '../infra/log/logger.ts';
import { MiPhone } from '../phone/party.ts';
import { transitApplet } from '../phone/transit-cards.ts';
import { issueTransitCard, topUpTransitCard, transitHistory } from '../phone/transit-wallet.ts';
import { logIn } from '../phone/wallet.ts';
import { createTransitGate } from '../terminal/gate/setup.ts';
import { BRANDS, brandByCode } from '../transit/brands.ts';
import { createHttpTransitClient } from '../transit/client.ts';
import { SandboxJourney, sandboxResidentId } from './sandbox-journey.ts';
import { createSystem, transitApiKey, transitOperatorKeys } from './system.ts';

const yuan = (fen: number | bigint) => `¥${(Number(fen) / 100).toFixed(2)}`;

export async function runTransitDemo(options: { keep?: boolean; write?: (text: string) => void } = {}): Promise<{ balanceFen: bigint; settled: number }> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  let n = 0;
  const step = (title: string) => write(`\n${++n}. ${title}\n`);
  const say = (text: string) => write(`   ${text}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'mipay-transit-demo-'));
  const database = await openDatabase({ kind: 'pglite', dataDir: join(dir, 'pglite') });
  let skippedMs = 0;
  const clock = () => new Date(Date.now() + skippedMs);
  const keyring = createMemoryKeyring();
  const system = await createSystem({ database, keyring, clock, logger: createLogger({ name: 'mipay-demo', level: 'error' }) });
  const platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
  const bankUrl = await system.bank.app.listen({ host: '127.0.0.1', port: 0 });
  const transitUrl = await system.transit.app.listen({ host: '127.0.0.1', port: 0 });
  try {
    write(`Mi Pay Open transit demo — platform ${platformUrl}   operators ${transitUrl}\n`);
    const journey = new SandboxJourney({ platformUrl, bankUrl });
    const accountPhone = '13800138001';
    const holder = { name: '李娜', idNumber: sandboxResidentId('1992-03-08', 2) };
    step('A Mi account with a payment account and a bound debit card');
    await journey.signUp({ phone: accountPhone, password: 'demo-password-1', nickname: 'Li Na' });
    const reservedPhone = '13900139001';
    const card = await journey.issueCard({ bank: 'CMB', kind: 'debit', holderName: holder.name, idNumber: holder.idNumber, reservedPhone, balanceFen: 500_000 });
    skippedMs += 61_000;
    await journey.openPaymentAccount({ ...holder, cardNumber: card.cardNumber, reservedPhone, paymentPassword: '135790' });
    say(`${card.bankName} debit card **** ${card.cardNumber.slice(-4)} bound for quick pay`);

    step('A Mi phone logs in');
    const phone = await MiPhone.create({ path: join(dir, 'phone.mipay'), passphrase: 'demo-phone-passphrase', platformUrl, passcode: '246810', clock });
    await logIn(phone, { accountPhone, password: 'demo-password-1' });
    const boundCardId = (await phone.boundCards())[0]!.id;

    step('Issue a 京津冀互联互通卡 (T-Union) onto the phone: the operator personalises it, keys diversified by card number');
    const issued = await issueTransitCard(phone, { brand: 'jjj', source: { kind: 'card', card_id: boundCardId }, paymentPassword: '135790' });
    say(`card ${issued.cardNumber} in the secure element; express mode ${issued.express ? 'on' : 'off'} (pays with the screen off, no fingerprint)`);

    step('Top up ¥50 from the bound card: the platform takes the money, the operator checks MAC1 and signs MAC2, the card loads');
    const topped = await topUpTransitCard(phone, { cardId: issued.id, amountFen: 5_000n, source: { kind: 'card', card_id: boundCardId }, paymentPassword: '135790' });
    say(`balance on the card: ${yuan(topped.balanceFen)}`);

    const keys = transitOperatorKeys(keyring);
    const gate = (id: string, mode: Parameters<typeof createTransitGate>[0]['mode']) => createTransitGate({
      gateId: id, brand: brandByCode('jjj')!, brands: BRANDS, mode, storePath: null, clock,
      terminalId: Buffer.from(id === 'entry' ? '000000000101' : '000000000102', 'hex'), purchaseMasterKey: (code) => keys.get(code)!.purchase,
    });
    const entryGate = gate('entry', { kind: 'metro-entry', station: 1 });
    const exitGate = gate('exit', { kind: 'metro-exit', station: 13 });
    step('Metro, phone offline and screen off: enter at 苹果园, leave at 西单');
    const entered = await entryGate.tap(transitApplet(phone, { screenOff: true }));
    say(`entry gate: ${entered.outcome} (trip record written to the card)`);
    skippedMs += 25 * 60_000;
    const left = await exitGate.tap(transitApplet(phone, { screenOff: true }));
    if (left.outcome !== 'charged') throw new Error(`the exit gate did not charge: ${JSON.stringify(left)}`);
    say(`exit gate: charged ${yuan(left.amountFen)} by distance, balance ${yuan(left.balanceFen)}`);

    step('The gates upload their offline records; the operator settles them, every TAC verified');
    const operator = createHttpTransitClient({ baseUrl: transitUrl, apiKey: transitApiKey(keyring) });
    let settled = 0;
    for (const g of [entryGate, exitGate]) {
      const result = await g.upload(operator);
      settled += result.settled;
      say(`${g === entryGate ? 'entry' : 'exit'} gate: settled ${result.settled}, refused ${result.refused}`);
    }

    step('History: the card\'s own records merged with the operator\'s settled ones');
    for (const r of await transitHistory(phone, issued.id, { online: true })) {
      say(`${r.date} ${r.time}  ${r.kind.padEnd(8)} ${r.kind === 'load' ? '+' : '-'}${yuan(r.amountFen)}  ${r.source}${r.description ? `  ${r.description}` : ''}`);
    }
    write(`\nDone: issue → top-up → metro entry and exit offline → upload → settlement → history.${options.keep ? ` Data kept in ${dir}` : ''}\n`);
    return { balanceFen: left.balanceFen, settled };
  } finally {
    await system.platform.app.close();
    await system.bank.app.close();
    await system.transit.app.close();
    await system.network.close();
    await database.close();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}
