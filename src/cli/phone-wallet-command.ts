// `mipay phone history | card suspend|resume|delete`: the wallet's history of this phone's device
// cards (the platform's one history, filtered to them) and the user's own card actions (issue 12).
import { type Command, InvalidArgumentError } from 'commander';
import { offlineWarnings } from '../phone/background-sync.ts';
import { cardActions, changeCard, type CardAction } from '../phone/card-actions.ts';
import { deviceCardHistory, formatHistoryLine, phoneHistoryLinesMax } from '../phone/history.ts';
import type { MiPhone } from '../phone/phone.ts';
import type { PhoneFileOptions } from './phone-file.ts';

type CommandFactory = (name: string, description: string) => Command;
type Open = (options: PhoneFileOptions) => Promise<MiPhone>;
type Run = (work: () => Promise<void>) => Promise<void>;

const out = (line: string) => process.stdout.write(`${line}\n`);

function limitOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > phoneHistoryLinesMax) throw new InvalidArgumentError(`1 to ${phoneHistoryLinesMax}`);
  return n;
}

export function registerPhoneWalletCommands(command: CommandFactory, openPhone: Open, run: Run): void {
  command('history', 'online: the taps, refunds and declines of this phone\'s device cards, newest first')
    .option('--card <device-card>', 'one device card: its id or the last 4 digits of the device card number')
    .option('--limit <n>', `at most this many lines (1–${phoneHistoryLinesMax})`, limitOf, 20)
    .action((options: PhoneFileOptions & { card?: string; limit: number }) => run(async () => {
      const p = await openPhone(options);
      const lines = await deviceCardHistory(p, { card: options.card, limit: options.limit });
      if (lines.length === 0) out('no device card transactions yet');
      for (const line of lines) out(formatHistoryLine(line));
      for (const warning of offlineWarnings(p)) out(`warning: ${warning.message}`);
    }));

  command('card', 'online: suspend, resume or delete one of this phone\'s device cards (the phone then syncs)')
    .argument('<action>', 'suspend | resume | delete')
    .requiredOption('--card <device-card>', 'the device card: its id or the last 4 digits of the device card number')
    .action((action: string, options: PhoneFileOptions & { card: string }) => run(async () => {
      if (!cardActions.includes(action as CardAction)) throw new InvalidArgumentError('the action is suspend, resume or delete');
      const p = await openPhone(options);
      const changed = await changeCard(p, { card: options.card, action: action as CardAction });
      out(`**** ${options.card.slice(-4)}: ${changed.status} on the platform`);
      for (const c of changed.sync.wiped) out(`wiped **** ${c.tokenLast4} (${c.id}) from this phone with its keys`);
      for (const c of changed.sync.statusChanged) out(`**** ${c.tokenLast4} (${c.id}): ${c.from} → ${c.to} on this phone`);
    }));
}
