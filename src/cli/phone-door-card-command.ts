// `mipay phone door-card …`: door cards (门卡) on the virtual phone. Reading, importing and
// presenting are offline; only `backup` talks to the platform (name and masked UID only).
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { DoorCardSummary } from '../phone/door-cards.ts';
import { PhoneError } from '../phone/party.ts';
import { dumpFileBytesMax } from '../protocols/mifare/dump-file.ts';
import { MifareError } from '../protocols/mifare/errors.ts';
import { cardFromDumpFile } from '../terminal/card-emulator/mifare-classic-card.ts';
import { openPhone, type PhoneFileOptions } from './phone-file.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** A dump file's name and bytes, refusing anything larger than a dump before reading it. */
export function readDumpArgument(path: string): { name: string; bytes: Buffer } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new InvalidArgumentError(`no file at ${path}`);
  }
  if (size > dumpFileBytesMax)
    throw new InvalidArgumentError(`${path} is ${size} bytes, larger than any MIFARE Classic dump`);
  return { name: basename(path), bytes: readFileSync(path) };
}

export function doorCardLine(card: DoorCardSummary): string {
  const flags = [card.isDefault ? 'default' : '', card.express ? 'express' : '', card.backedUp ? 'backed up' : '']
    .filter(Boolean)
    .join(', ');
  const where = `UID ${card.uidMasked}  from ${card.source}${flags ? `  (${flags})` : ''}`;
  return `${card.id}  "${card.name}"  ${card.type}  ${where}`;
}

async function run(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof PhoneError)
      throw new Error(`${error.message} [${error.code}${error.param ? `, param ${error.param}` : ''}]`);
    if (error instanceof MifareError)
      throw new Error(`${error.message} [${error.code}${error.where ? `, ${error.where}` : ''}]`);
    throw error;
  }
}

function onOff(value: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new InvalidArgumentError('on or off');
}

export function registerPhoneDoorCardCommands(phone: Command): void {
  const doorCard = phone
    .command('door-card')
    .description('door cards (门卡): copy an unencrypted MIFARE Classic access card onto the phone');
  const command = (name: string, description: string) =>
    doorCard
      .command(name)
      .description(description)
      .option('--phone <file>', "the phone's state file (default: phone.se.json in MIPAY_DATA_DIR)")
      .option('--passphrase <text>', "the state file's passphrase (default: MIPAY_PHONE_PASSPHRASE)")
      .option('--platform-url <url>', 'the platform, kept in the phone');

  command(
    'read',
    'hold a card to the phone: it reads every sector with the well-known default keys ' +
      'and keeps the card if none needs another key',
  )
    .requiredOption(
      '--card <dump>',
      'the physical card held to the phone, emulated from its dump (Proxmark3 .bin/.eml/.json, keys included)',
    )
    .option('--name <name>', 'a name for the door card')
    .action((options: PhoneFileOptions & { card: string; name?: string }) =>
      run(async () => {
        const file = readDumpArgument(options.card);
        const card = cardFromDumpFile(file.name, file.bytes);
        const p = await openPhone(options);
        const kept = p.readDoorCard(card, options.name);
        out(`copied: ${doorCardLine(kept)}`);
      }),
    );

  command(
    'import',
    'import a dump file (Proxmark3 .bin, .eml, .json; Flipper Zero .nfc), checked and refused as a card would be',
  )
    .argument('<file>', 'the dump file')
    .option('--name <name>', 'a name for the door card')
    .action((file: string, options: PhoneFileOptions & { name?: string }) =>
      run(async () => {
        const dump = readDumpArgument(file);
        const p = await openPhone(options);
        out(`imported: ${doorCardLine(p.importDoorCard(dump, options.name))}`);
      }),
    );

  command('list', 'the door cards on this phone').action((options: PhoneFileOptions) =>
    run(async () => {
      const cards = (await openPhone(options)).doorCards();
      if (cards.length === 0) out('no door cards on this phone');
      for (const card of cards) out(doorCardLine(card));
    }),
  );

  command('rename', 'rename a door card')
    .argument('<card>', 'its id or name')
    .argument('<name>', 'the new name')
    .action((card: string, name: string, options: PhoneFileOptions) =>
      run(async () => {
        out(`renamed: ${doorCardLine((await openPhone(options)).renameDoorCard(card, name))}`);
      }),
    );

  command('delete', 'delete a door card from the phone')
    .argument('<card>', 'its id or name')
    .action((card: string, options: PhoneFileOptions) =>
      run(async () => {
        const gone = (await openPhone(options)).deleteDoorCard(card);
        out(`deleted ${gone.id} "${gone.name}" from this phone`);
      }),
    );

  command('default', 'the door card presented when the phone is held to a door reader')
    .argument('<card>', 'its id or name')
    .action((card: string, options: PhoneFileOptions) =>
      run(async () => {
        out(`default: ${doorCardLine((await openPhone(options)).setDefaultDoorCard(card))}`);
      }),
    );

  command('express', 'let a door card answer door readers with the screen off (on|off); bank cards never do')
    .argument('<card>', 'its id or name')
    .argument('<on|off>', 'on or off', onOff)
    .action((card: string, on: boolean, options: PhoneFileOptions) =>
      run(async () => {
        out(`express ${on ? 'on' : 'off'}: ${doorCardLine((await openPhone(options)).setDoorCardExpress(card, on))}`);
      }),
    );

  command(
    'backup',
    "online: back up the card's name and masked UID to the Mi account (the card itself stays on the phone)",
  )
    .argument('<card>', 'its id or name')
    .action((card: string, options: PhoneFileOptions) =>
      run(async () => {
        const { backupId, uidMasked } = await (await openPhone(options)).backUpDoorCard(card);
        out(`backed up as ${backupId}: name and UID ${uidMasked} only`);
      }),
    );
}
