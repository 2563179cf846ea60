// `mipay phone transfer | pay-order | fingerprint-pay | certificate …`: the virtual phone paying
// people and merchants online, verified by the payment password or a fingerprint, optionally
// signed with a payment certificate whose key the phone made.
import { type Command, InvalidArgumentError } from 'commander';
import { PhoneError } from '../phone/party.ts';
import * as payments from '../phone/payments.ts';
import { yuanToFen } from './pos-command.ts';
import type { PhoneFileOptions } from './phone-file.ts';

type CommandFactory = (name: string, description: string) => Command;
type Open = (options: PhoneFileOptions) => Promise<Parameters<typeof payments.transfer>[0]>;
type Run = (work: () => Promise<void>) => Promise<void>;

interface VerificationOptions { finger?: string; paymentPassword?: string; smsCode?: string; certificate?: boolean }

const out = (line: string) => process.stdout.write(`${line}\n`);

function withVerification(command: Command): Command {
  return command
    .option('--finger <name>', 'verify with the fingerprint (fingerprint payment turned on for this phone)')
    .option('--payment-password <digits>', 'verify with the payment password')
    .option('--sms-code <code>', 'a code texted for purpose payment (`--send-code` first): the second factor')
    .option('--certificate', 'also sign with this phone\'s payment certificate (its agreed daily limit)');
}

function describe(txn: Record<string, any>): string {
  const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;
  return `${txn.id} ${txn.type} ${yuan(txn.amount_fen)} ${txn.status}: ${txn.payer.account} → ${txn.payee.name} ${txn.payee.account}; `
    + `funded by ${txn.funding_source}, verified by ${txn.authorization.method} (${txn.authorization.factors} factor${txn.authorization.factors === 1 ? '' : 's'})`;
}

export function registerPhonePaymentCommands(command: CommandFactory, openPhone: Open, run: Run): void {
  withVerification(command('transfer',
    'pay another Mi account by its Mi account number or phone: see the masked name, then confirm it')
    .requiredOption('--to <mi-number|phone>', 'the payee\'s Mi account number (10 digits) or phone number')
    .option('--amount <yuan>', 'the amount in yuan')
    .option('--confirm-name <masked>',
      'the masked name shown by the look-up (e.g. *三): the transfer goes only if it still matches')
    .option('--card <card-id>', 'fund the transfer from this bound card (the bank\'s quick-pay limits apply)')
    .option('--note <text>', 'a note for the payee')
    .option('--send-code', 'text a payment code to the account\'s phone first (for --sms-code)'))
    .action((options: PhoneFileOptions & VerificationOptions & { to: string; amount?: string; confirmName?: string; card?: string; note?: string; sendCode?: boolean }) => run(async () => {
      const phone = await openPhone(options);
      if (options.sendCode) {
        await payments.requestSmsCode(phone, 'payment');
        out('a payment code was texted to the account\'s phone; run again with --sms-code <code>');
        return;
      }
      if (!/^[0-9]{10,11}$/.test(options.to)) throw new InvalidArgumentError('--to is a 10-digit Mi account number or an 11-digit phone number');
      const found = await payments.lookUpPayee(phone, options.to);
      if (!options.confirmName || !options.amount) {
        out(`payee: ${found.name} (${found.account}); to pay, run again with --amount <yuan> --confirm-name '${found.name}'`);
        return;
      }
      if (options.confirmName !== found.name) {
        throw new PhoneError('payee_name_not_confirmed',
          `The payee's name is ${found.name}, not ${options.confirmName}; nothing was paid.`, 'confirm-name');
      }
      const txn = await payments.transfer(phone, { ...options, amountFen: Number(yuanToFen(options.amount)),
        cardId: options.card, note: options.note, payee: found });
      out(describe(txn));
    }));

  withVerification(command('pay-order', 'pay a merchant order from the balance or a bound card')
    .requiredOption('--order <id>', 'the order id (ord_…)')
    .option('--card <card-id>', 'pay with this bound card instead of the balance'))
    .action((options: PhoneFileOptions & VerificationOptions & { order: string; card?: string }) => run(async () => {
      const paid = await payments.payOrder(await openPhone(options), { ...options, orderId: options.order,
        cardId: options.card });
      out(`order ${paid.order.id} ${paid.order.status}; ${describe(paid.transaction)}`);
    }));

  command('fingerprint-pay',
    'turn fingerprint payment on this phone on (with the payment password) or off; the password always remains')
    .argument('<on|off>')
    .option('--payment-password <digits>', 'the payment password (to turn it on)')
    .action((state: string, options: PhoneFileOptions & { paymentPassword?: string }) => run(async () => {
      if (state !== 'on' && state !== 'off') throw new InvalidArgumentError('on or off');
      const enabled = await payments.setFingerprintPayment(await openPhone(options), { enabled: state === 'on',
        paymentPassword: options.paymentPassword });
      out(`fingerprint payment ${enabled ? 'on' : 'off'}`);
    }));

  command('certificate',
    'payment certificates: enrol (a key pair made on this phone, a CSR, SMS code + payment password), list, revoke')
    .argument('<enrol|list|revoke>')
    .option('--daily-limit <yuan>', 'enrol: the daily limit you agree for certificate-signed payments')
    .option('--payment-password <digits>', 'enrol: the payment password')
    .option('--sms-code <code>',
      'enrol: the code texted for purpose payment_certificate (without it, the code is sent)')
    .option('--valid-days <days>', 'enrol: validity in days (default 365)')
    .option('--id <certificate-id>', 'revoke: the certificate')
    .option('--reason <reason>', 'revoke: user_request, device_lost or key_compromise', 'user_request')
    .action((action: string,
      options: PhoneFileOptions & { dailyLimit?: string; paymentPassword?: string; smsCode?: string; validDays?: string; id?: string; reason: string }) => run(async () => {
      const phone = await openPhone(options);
      if (action === 'list') {
        for (const c of await payments.listCertificates(phone)) {
          out(`${c.id}  ${c.status}  ¥${(c.daily_limit_fen / 100).toFixed(2)} a day  until ${c.not_after}${c.revocation_reason ? `  (${c.revocation_reason})` : ''}`);
        }
        return;
      }
      if (action === 'revoke') {
        if (!options.id) throw new InvalidArgumentError('--id <certificate-id>');
        const revoked = await payments.revokeCertificate(phone, options.id, options.reason);
        out(`${revoked.id} revoked (${revoked.revocation_reason})`);
        return;
      }
      if (action !== 'enrol') throw new InvalidArgumentError('enrol, list or revoke');
      if (!options.smsCode) {
        await payments.requestSmsCode(phone, 'payment_certificate');
        out('a code was texted to the account\'s phone; run again with --sms-code <code> --payment-password <digits> --daily-limit <yuan>');
        return;
      }
      if (!options.dailyLimit || !options.paymentPassword) throw new InvalidArgumentError('enrolling needs --daily-limit <yuan> and --payment-password <digits>');
      const held = await payments.enrolCertificate(phone, {
        dailyLimitFen: Number(yuanToFen(options.dailyLimit)), paymentPassword: options.paymentPassword, smsCode: options.smsCode,
        validDays: options.validDays ? Number(options.validDays) : undefined,
      });
      out(`certificate ${held.id} (serial ${held.serialNumber}) enrolled: ¥${(held.dailyLimitFen / 100).toFixed(2)} a day, valid until ${held.notAfter}; its key stays on this phone`);
    }));
}
