// `mipay phone …`: the virtual Mi phone from the command line. Each command opens the phone's
// state file (its secure element) with the passphrase, does one thing, and leaves the file
// written; `mipay pos charge --phone <file>` then taps that phone at the sandbox POS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PhoneError, PlatformError } from '../phone/party.ts';
import { MiPhone, type CardSummary } from '../phone/party.ts';
import type { SyncResult } from '../phone/wallet.ts';
import { dataDir, defaultPorts } from './config.ts';
import { registerPhoneDoorCardCommands } from './phone-door-card-command.ts';
import { openPhone, passphraseOf, phoneStatePath, type PhoneFileOptions } from './phone-file.ts';
import { registerPhonePaymentCommands } from './phone-payment-command.ts';
import { registerPhoneWalletCommands } from './phone-wallet-command.ts';

export { openPhone, phoneStatePath, type PhoneFileOptions } from './phone-file.ts';

function runtimePlatformUrl(): string {
  try {
    const runtime = JSON.parse(readFileSync(join(dataDir(), 'runtime.json'), 'utf8')) as { platform_url?: string };
    if (runtime.platform_url) return runtime.platform_url;
  } catch {
    // No `mipay up` has run from this folder: the default port.
  }
  return `http://127.0.0.1:${defaultPorts.platform}`;
}

/** The phone's own refusals carry their code and the input at fault, like the platform's. */
async function run(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof PhoneError) throw new Error(`${error.message} [${error.code}${error.param ? `, ${flagOf(error.param)}` : ''}]`);
    // The platform names its request field; the user typed a flag: name that instead.
    if (error instanceof PlatformError && error.param && flagsByParam[error.param]) {
      throw new Error(error.message.replace(`, param ${error.param}]`, `, ${flagOf(error.param)}]`));
    }
    throw error;
  }
}

/**
 * The flag the user typed for a refused input: the phone library names its own arguments
 * (`deviceCardId`), the platform its request fields (`card_id`); the user typed `--card`.
 */
const flagsByParam: Record<string, string> = {
  deviceCardId: '--card', card: '--card', card_id: '--card', finger: '--finger', sms_code: '--sms-code', smsCode: '--sms-code',
  passcode: '--passcode', password: '--password', phone: '--account-phone', accountPhone: '--account-phone',
  find_device_on: '--find-device', os_version: '--os-version',
};

export function flagOf(param: string): string {
  const flag = flagsByParam[param];
  return flag ? `flag ${flag}` : `param ${param}`;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

function cardLine(card: CardSummary): string {
  const keys = card.keysLeft === 0 ? 'no payment keys left (sync when online)' : `${card.keysLeft} payment keys until ${card.keysExpireAt!.slice(0, 16).replace('T', ' ')} UTC`;
  return `${card.id}  ${card.bankName} ${card.cardKind} **** ${card.tokenLast4}  ${card.status}${card.armed ? ' ARMED' : ''}  ${keys}`;
}

function printSync(result: SyncResult): void {
  for (const c of result.wiped) out(`wiped **** ${c.tokenLast4} (${c.id}): deleted on the platform; its keys are gone`);
  for (const c of result.statusChanged) out(`**** ${c.tokenLast4} (${c.id}): ${c.from} → ${c.to}`);
  for (const c of result.keysRetired) out(`**** ${c.tokenLast4} (${c.id}): ${c.dropped} payment keys retired by the platform, wiped`);
  for (const c of result.replenished) out(`**** ${c.tokenLast4} (${c.id}): ${c.added} new payment keys`);
  for (const p of result.problems) process.stderr.write(`**** ${p.tokenLast4} (${p.id}): ${p.message}\n`);
  if (result.wiped.length + result.statusChanged.length + result.keysRetired.length + result.replenished.length + result.problems.length === 0) out('in sync: nothing changed');
}

function onOff(value: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new InvalidArgumentError('on or off');
}

export function registerPhoneCommands(program: Command): void {
  const phone = program.command('phone').description('the virtual Mi phone: its secure element is an encrypted state file');
  // Every subcommand names its state file, passphrase and platform the same way.
  const command = (name: string, description: string) => phone.command(name).description(description)
    .option('--phone <file>', 'the phone\'s state file (default: phone.se.json in MIPAY_DATA_DIR)')
    .option('--passphrase <text>', 'the state file\'s passphrase (default: MIPAY_PHONE_PASSPHRASE)')
    .option('--platform-url <url>', 'the platform, kept in the phone (default: the one it has; at create, the running `npx mipay up`)');

  command('create', 'make a new phone: its P-256 device key, settings, enrolled finger and passcode, in a new state file')
    .requiredOption('--passcode <digits>', 'the device passcode (4–16 digits): unlocks the fingerprint after 5 wrong tries')
    .option('--finger <name>', 'the finger enrolled on the sensor', 'right-thumb')
    .option('--model <model>', 'the phone model', 'Mi 9')
    .option('--os-version <version>', 'MIUI version', '10.2.3.0')
    .action((options: PhoneFileOptions & { passcode: string; finger: string; model: string; osVersion: string }) => run(async () => {
      const made = await MiPhone.create({
        path: phoneStatePath(options), passphrase: passphraseOf(options), platformUrl: options.platformUrl ?? runtimePlatformUrl(),
        passcode: options.passcode, enrolledFinger: options.finger, device: { model: options.model, osVersion: options.osVersion },
      });
      out(`phone created in ${made.path}: ${made.state.device.model}, MIUI ${made.state.device.osVersion}, device id ${made.state.device.hardwareId}, finger ${options.finger} enrolled`);
      out('next: npx mipay phone login --account-phone <phone> --password <password>');
    }));

  command('login', 'log in to the Mi account on this phone; the first login registers the phone with its public key')
    .requiredOption('--account-phone <phone>', 'the Mi account\'s phone number')
    .requiredOption('--password <password>', 'the Mi account\'s password')
    .action((options: PhoneFileOptions & { accountPhone: string; password: string }) => run(async () => {
      const p = await openPhone(options);
      const { userId, deviceId } = await p.logIn({ accountPhone: options.accountPhone, password: options.password });
      out(`logged in as ${userId}; this phone is device ${deviceId}`);
    }));

  command('add-card', 'add a bound bank card to the phone: --card and --finger (the bank texts a code), then --sms-code')
    .option('--card <bound-card>', 'the bound bank card: its id (card_…) or the last 4 digits of the bank card number (step 1)')
    .option('--finger <name>', 'the finger on the sensor (step 1)')
    .option('--sms-code <code>', 'the code the bank texted to the card\'s reserved phone (step 2)')
    .action((options: PhoneFileOptions & { card?: string; finger?: string; smsCode?: string }) => run(async () => {
      const p = await openPhone(options);
      if (options.card) {
        if (!options.finger) throw new InvalidArgumentError('adding a card needs a fingerprint: --finger <name>');
        const pending = await p.applyForCard({ card: options.card, finger: options.finger });
        out(`fingerprint verified; ${pending.bankName} texted a code to ${pending.phoneMasked} (valid until ${pending.expiresAt.slice(11, 19)} UTC)`);
        if (!options.smsCode) {
          out('next: npx mipay phone add-card --sms-code <code>');
          return;
        }
      }
      if (!options.smsCode) throw new InvalidArgumentError('--card <bound-card> --finger <name> to start, or --sms-code <code> to finish');
      const card = await p.confirmCard({ smsCode: options.smsCode });
      out(`added ${card.bankName} ${card.cardKind} card as device card ${card.id}: **** ${card.tokenLast4}, ${card.luks.length} payment keys for offline use`);
    }));

  command('cards', 'the device cards on this phone (offline); --bound also lists the account\'s bound cards (online)')
    .option('--bound', 'also list the bound cards that can be added', false)
    .action((options: PhoneFileOptions & { bound: boolean }) => run(async () => {
      const p = await openPhone(options);
      const cards = p.cards();
      if (cards.length === 0) out('no device cards on this phone');
      for (const card of cards) out(cardLine(card));
      if (options.bound) {
        for (const card of await p.boundCards()) out(`bound: ${card.id}  ${card.bank_name} ${card.kind} ${card.masked_number}  ${card.status}`);
      }
    }));

  command('sync', 'online: pull device card statuses (deleted cards are wiped, suspended ones cannot pay) and top up payment keys')
    .action((options: PhoneFileOptions) => run(async () => {
      printSync(await (await openPhone(options)).sync());
    }));

  command('pay', 'pick a card and verify the fingerprint: the phone is armed for one tap within 60 s (offline)')
    .requiredOption('--card <device-card>', 'the device card: its id or the last 4 digits of the device card number (the token, as `npx mipay phone cards` shows; not the bank card\'s); there is no default card')
    .requiredOption('--finger <name>', 'the finger on the sensor')
    .option('--refund', 'armed to take back a refund only (a suspended card may still do that)')
    .action((options: PhoneFileOptions & { card: string; finger: string; refund?: boolean }) => run(async () => {
      const p = await openPhone(options);
      const { card, armedUntil } = p.pay({ deviceCardId: options.card, finger: options.finger, refund: options.refund === true });
      const until = armedUntil.toISOString().slice(11, 19);
      if (options.refund) out(`armed for a refund: ${card.bankName} **** ${card.tokenLast4} until ${until} UTC; hold the phone to the POS (npx mipay pos refund <amount> --rrn <rrn> --phone ${p.path})`);
      else out(`armed: ${card.bankName} **** ${card.tokenLast4} until ${until} UTC; hold the phone to the POS (npx mipay pos charge <amount> --phone ${p.path})`);
    }));

  command('unlock', 'unlock the fingerprint sensor with the device passcode')
    .requiredOption('--passcode <digits>', 'the device passcode')
    .action((options: PhoneFileOptions & { passcode: string }) => run(async () => {
      (await openPhone(options)).unlockFingerprint(options.passcode);
      out('fingerprint unlocked');
    }));

  command('settings', 'report changed phone settings (find-device off deletes the bank cards, which the sync then wipes)')
    .option('--find-device <on|off>', 'find-device', onOff)
    .option('--os-version <version>', 'a new MIUI version')
    .action((options: PhoneFileOptions & { findDevice?: boolean; osVersion?: string }) => run(async () => {
      const p = await openPhone(options);
      printSync(await p.updateSettings({
        ...(options.findDevice !== undefined ? { findDeviceOn: options.findDevice } : {}), ...(options.osVersion ? { osVersion: options.osVersion } : {}),
      }));
      out(`find-device ${p.state.device.findDeviceOn ? 'on' : 'off'}, MIUI ${p.state.device.osVersion}`);
    }));

  registerPhoneDoorCardCommands(phone);
  registerPhonePaymentCommands(command, openPhone, run);
  registerPhoneWalletCommands(command, openPhone, run);

  command('logout', 'log out: the platform deletes this phone\'s bank device cards, the phone wipes them; transit and door cards stay')
    .action((options: PhoneFileOptions) => run(async () => {
      const p = await openPhone(options);
      const { wiped } = await p.logOut();
      const doorCardsKept = p.doorCards().length;
      const kept = doorCardsKept > 0 ? `; ${doorCardsKept} door card${doorCardsKept === 1 ? '' : 's'} kept` : '';
      out(`logged out; ${wiped} bank card${wiped === 1 ? '' : 's'} wiped from this phone${kept}`);
    }));
}
