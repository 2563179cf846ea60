// `mipay demo`: the whole Mi Pay journey on a fresh embedded database, printed step by step —
// sign-up, a bank card, the payment account, a Mi phone, the card added as a device card, an
// offline tap at a QuickPass POS with its receipt, the bank's card account debited, and a refund
// at the same POS. Every party runs for real on loopback ports the OS picks (so a running
// `mipay up` is not disturbed); the user's side goes through the public HTTP APIs and the
// phone's own state file, the POS through ISO 8583 over TCP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../infra/db/database.ts';
import { createLogger } from '../infra/log/logger.ts';
import { createTcpNetworkClient } from '../network/client.ts';
import { MiPhone } from '../phone/party.ts';
import { addCard, logIn } from '../phone/wallet.ts';
import { deviceCardHistory, formatHistoryLine } from '../phone/history.ts';
import { formatReceipt, PosTerminal, type Receipt } from '../terminal/party.ts';
import { SandboxJourney, sandboxResidentId } from './sandbox-journey.ts';
import { createSystem } from './system.ts';
import { createMemoryKeyring } from '../infra/keys/keyring.ts';

export interface DemoOptions {
  /** Keep the demo's data folder (database, phone state file) instead of deleting it. */
  keep?: boolean;
  write?: (text: string) => void;
}

const yuan = (fen: number | bigint) => `¥${(Number(fen) / 100).toFixed(2)}`;
const indent = (text: string) => text.split('\n').map((line) => `    ${line}`).join('\n');

export async function runDemo(options: DemoOptions = {}): Promise<{ sale: Receipt; refund: Receipt }> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  let stepNumber = 0;
  const step = (title: string) => write(`\n${++stepNumber}. ${title}\n`);
  const say = (text: string) => write(`   ${text}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'mipay-demo-'));
  const database = await openDatabase({ kind: 'pglite', dataDir: join(dir, 'pglite') });
  // The demo's clock can skip ahead: banks and the platform text a phone at most once a minute,
  // and the demo would rather say "a minute later" than make you wait one.
  let skippedMs = 0;
  const clock = () => new Date(Date.now() + skippedMs);
  const system = await createSystem({ database, keyring: createMemoryKeyring(), clock, logger: createLogger({ name: 'mipay-demo', level: 'error' }) });
  await system.bankAuthorization.endpoint.listen(0, '127.0.0.1');
  const networkAddress = await system.network.server.listen(0, '127.0.0.1');
  const platformUrl = await system.platform.app.listen({ host: '127.0.0.1', port: 0 });
  const bankUrl = await system.bank.app.listen({ host: '127.0.0.1', port: 0 });
  const networkClient = createTcpNetworkClient({ host: networkAddress.host, port: networkAddress.port });
  try {
    write(`Mi Pay Open demo — every party on this machine, embedded database in ${dir}\n`);
    write(`   platform ${platformUrl}   banks ${bankUrl}   network ISO 8583 ${networkAddress.host}:${networkAddress.port}\n`);
    const journey = new SandboxJourney({ platformUrl, bankUrl });
    const accountPhone = '13800138000';
    const holder = { name: '张伟', idNumber: sandboxResidentId('1990-05-17', 1) };

    step('Sign up for a Mi account (the platform texts a code to the phone)');
    const user = await journey.signUp({ phone: accountPhone, password: 'demo-password-1', nickname: 'Zhang Wei' });
    say(`account ${user.userId} for ${accountPhone.slice(0, 3)}****${accountPhone.slice(-4)}, logged in`);

    step('A bank issues a debit card in the holder\'s name (the sandbox bank\'s desk)');
    // The bank's reserved phone is another of the holder's numbers: the platform texts a phone at most once a minute.
    const reservedPhone = '13900139000';
    const card = await journey.issueCard({ bank: 'CMB', kind: 'debit', holderName: holder.name, idNumber: holder.idNumber, reservedPhone, balanceFen: 500_000 });
    say(`${card.bankName} debit card **** ${card.cardNumber.slice(-4)}, expires ${card.expiry.slice(2)}/${card.expiry.slice(0, 2)}, balance ${yuan(500_000)}`);

    step('Open the real-name payment account with that card (the bank checks name, ID, card and phone, and texts a code)');
    const account = await journey.openPaymentAccount({ ...holder, cardNumber: card.cardNumber, reservedPhone, paymentPassword: '135790' });
    say(`payment account ${account.id}, Class ${account.accountClass}; the card is bound for quick pay`);

    step('A Mi phone: its secure element is an encrypted state file; log in and register the phone');
    const phone = await MiPhone.create({ path: join(dir, 'phone.mipay'), passphrase: 'demo-phone-passphrase', platformUrl, passcode: '246810', enrolledFinger: 'right-thumb', clock });
    const registered = await logIn(phone, { accountPhone, password: 'demo-password-1' });
    say(`${phone.state.device.model} (MIUI ${phone.state.device.osVersion}), NFC and secure element, registered as ${registered.deviceId}`);

    step('A minute later, add the card to the phone: fingerprint, then the bank texts a code to the card\'s reserved phone');
    skippedMs += 61_000;
    const deviceCard = await addCard(phone, { card: card.cardNumber.slice(-4), finger: 'right-thumb', smsCode: () => journey.latestSmsCode(reservedPhone) });
    say(`device card ${deviceCard.id}: number **** ${deviceCard.tokenLast4} (a token; the card's own **** ${card.cardNumber.slice(-4)} never reaches the phone)`);
    say(`${deviceCard.luks.length} limited-use keys for offline payments, valid until ${deviceCard.luks[0]?.expiresAt.slice(0, 10)}`);

    const pos = new PosTerminal({ ...(await system.network.registerTerminal({ terminalId: 'DEMOPOS1', merchantId: '898110058120009', merchantName: 'MI HOME BEIJING', mcc: '5732' })), network: networkClient, clock });
    const balance = async () => (await journey.bank.call<{ balance_fen: number }>({ method: 'POST', path: '/v1/sandbox/cards/account', body: { card_number: card.cardNumber } })).balance_fen;

    step('Pay ¥23.50 at a QuickPass POS, phone offline: pick the card, fingerprint, tap within 60 s');
    const armed = phone.pay({ deviceCardId: deviceCard.id, finger: 'right-thumb' });
    say(`card **** ${armed.card.tokenLast4} picked, fingerprint verified, armed until ${armed.armedUntil.toISOString().slice(11, 19)} UTC (no server was called)`);
    const sale = await pos.charge({ amountFen: 2_350n, card: phone.paymentApplet() });
    say('the POS read the phone over EMV APDUs and sent ISO 8583 to the network, which asked the token service, then the bank:');
    write(`${indent(formatReceipt(sale))}\n`);
    say(`receipt shows **** ${sale.cardLast4} (the device card), not the card's **** ${card.cardNumber.slice(-4)}`);
    say(`bank card account: ${yuan(500_000)} → ${yuan(await balance())}; ${phone.cards()[0]?.keysLeft} offline keys left`);

    step('Refund the purchase at the same POS: fingerprint, tap again');
    phone.pay({ deviceCardId: deviceCard.id, finger: 'right-thumb' });
    const refund = sale.rrn
      ? await pos.refund({ amountFen: 2_350n, originalRrn: sale.rrn, card: phone.paymentApplet() })
      : sale;
    write(`${indent(formatReceipt(refund))}\n`);
    say(`bank card account: ${yuan(await balance())}`);

    step('The wallet\'s history: the network\'s token service told the wallet of the tap and the refund (mipay phone history)');
    await system.tsp.notices.settled();
    for (const line of await deviceCardHistory(phone, { card: deviceCard.tokenLast4 })) say(formatHistoryLine(line));

    write(`\nDone: sign-up → payment account → device card → offline tap → receipt → refund → history.${options.keep ? ` Data kept in ${dir}` : ''}\n`);
    return { sale, refund };
  } finally {
    await networkClient.close();
    await system.platform.app.close();
    await system.bank.app.close();
    await system.network.close();
    await system.bankAuthorization.endpoint.close();
    await database.close();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}
