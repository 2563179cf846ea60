// `mipay door …`: a door reader (门禁) from the command line. Its allowlist and event log live in
// one file (`--door`, default door-reader.json in the data folder); `tap` holds a phone (its
// default door card) or an emulated card to it. `make-card` writes a new card's dump, to hold to
// the phone with `mipay phone door-card read --card`.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { MiPhone } from '../phone/party.ts';
import { PhoneError } from '../phone/party.ts';
import { MifareError } from '../protocols/mifare/errors.ts';
import {
  cardFromDumpFile,
  generateClassicImage,
  imageToProxmarkBin,
  imageToProxmarkJson,
} from '../terminal/card-emulator/mifare-classic-card.ts';
import { DoorReader, DoorReaderError, loadDoorReader, saveDoorReader, type DoorEvent } from '../terminal/party.ts';
import { dataDir } from './config.ts';
import { readDumpArgument } from './phone-door-card-command.ts';
import { phoneStatePath } from './phone-file.ts';

interface DoorFileOptions {
  door?: string;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const eventsShownDefault = 20;

function doorPath(options: DoorFileOptions): string {
  return options.door ?? join(dataDir(), 'door-reader.json');
}

function hexArgument(bytes: number[]) {
  return (value: string): Buffer => {
    const compact = value.replace(/[\s:]/g, '');
    if (!/^(?:[0-9A-Fa-f]{2})+$/.test(compact) || !bytes.includes(compact.length / 2))
      throw new InvalidArgumentError(`${bytes.join(' or ')} bytes of hex`);
    return Buffer.from(compact, 'hex');
  };
}

async function run(work: () => Promise<void> | void): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof DoorReaderError) throw new Error(`${error.message} [param ${error.param}]`);
    if (error instanceof PhoneError)
      throw new Error(`${error.message} [${error.code}${error.param ? `, param ${error.param}` : ''}]`);
    if (error instanceof MifareError)
      throw new Error(`${error.message} [${error.code}${error.where ? `, ${error.where}` : ''}]`);
    throw error;
  }
}

function eventLine(event: DoorEvent): string {
  return (
    `${event.at.slice(0, 19).replace('T', ' ')} UTC  ${event.result === 'opened' ? 'OPENED ' : 'REFUSED'}  ` +
    (event.uidMasked ?? '(no card)') +
    `${event.label ? ` (${event.label})` : ''}  ${event.reason}`
  );
}

export function registerDoorCommands(program: Command): void {
  const door = program
    .command('door')
    .description('a door reader (门禁): UID allowlist, optional sector check, event log, in one file');
  const command = (name: string, description: string) =>
    door
      .command(name)
      .description(description)
      .option('--door <file>', "the door reader's file (default: door-reader.json in MIPAY_DATA_DIR)");

  command('create', 'set up a new door reader with an empty allowlist')
    .option('--name <name>', "the door's name", 'Door')
    .action((options: DoorFileOptions & { name: string }) =>
      run(() => {
        const path = doorPath(options);
        if (existsSync(path))
          throw new DoorReaderError(
            `${path} already holds a door reader; choose another file or delete it first.`,
            'door',
          );
        saveDoorReader(path, DoorReader.empty(options.name), { create: true });
        out(`door reader "${options.name}" created in ${path}`);
      }),
    );

  command('allow', "allow a card by its UID; --block/--key/--value also make the reader check a sector's data")
    .argument('<uid>', "the card's UID, 4 or 7 bytes of hex")
    .option('--label <text>', 'who the card belongs to')
    .option('--block <n>', 'a data block the card must hold --value in', (v) => Number(v))
    .option('--key <hex>', 'the key that reads the block (6 bytes hex)', 'FFFFFFFFFFFF')
    .option('--key-type <A|B>', 'key A or key B', 'A')
    .option('--value <hex>', 'the 16 bytes the block must hold (hex)')
    .action(
      (
        uid: string,
        options: DoorFileOptions & { label?: string; block?: number; key: string; keyType: string; value?: string },
      ) =>
        run(() => {
          const path = doorPath(options);
          const reader = new DoorReader(loadDoorReader(path));
          if ((options.block === undefined) !== (options.value === undefined))
            throw new DoorReaderError('a sector check needs both --block and --value.', 'block');
          const sector =
            options.block !== undefined
              ? { block: options.block, keyType: options.keyType as 'A' | 'B', key: options.key, value: options.value! }
              : undefined;
          const entry = reader.allow({
            uid,
            ...(options.label ? { label: options.label } : {}),
            ...(sector ? { sector } : {}),
          });
          saveDoorReader(path, reader.state);
          out(
            `allowed ${entry.uid}${entry.label ? ` (${entry.label})` : ''}` +
              (entry.sector ? `, block ${entry.sector.block} checked with key ${entry.sector.keyType}` : ''),
          );
        }),
    );

  command('deny', 'remove a UID from the allowlist')
    .argument('<uid>', "the card's UID")
    .action((uid: string, options: DoorFileOptions) =>
      run(() => {
        const path = doorPath(options);
        const reader = new DoorReader(loadDoorReader(path));
        const removed = reader.deny(uid);
        saveDoorReader(path, reader.state);
        out(
          removed ? `removed ${uid.toUpperCase()} from the allowlist` : `${uid.toUpperCase()} was not on the allowlist`,
        );
      }),
    );

  command('list', "the door's allowlist").action((options: DoorFileOptions) =>
    run(() => {
      const state = loadDoorReader(doorPath(options));
      out(`door "${state.name}": ${state.allowlist.length} card${state.allowlist.length === 1 ? '' : 's'} allowed`);
      for (const e of state.allowlist)
        out(`${e.uid}${e.label ? `  ${e.label}` : ''}${e.sector ? `  block ${e.sector.block} checked` : ''}`);
    }),
  );

  command('log', "the door's event log, newest last")
    .option('--last <n>', 'how many events', (v) => Number(v), eventsShownDefault)
    .action((options: DoorFileOptions & { last: number }) =>
      run(() => {
        const { events } = loadDoorReader(doorPath(options));
        if (events.length === 0) out('no events yet');
        for (const event of events.slice(-Math.max(1, options.last))) out(eventLine(event));
      }),
    );

  command('tap', 'hold a phone (its default door card) or a card to the reader; exit status 2 when the door stays shut')
    .option('--phone <file>', "a phone's state file (default: phone.se.json in MIPAY_DATA_DIR unless --card is given)")
    .option('--passphrase <text>', "the phone's passphrase (default: MIPAY_PHONE_PASSPHRASE)")
    .option('--door-card <card>', 'present this door card instead of the default (id or name)')
    .option('--screen <on|off>', "the phone's screen: with it off only an express door card answers", 'on')
    .option('--card <dump>', 'a physical card instead of a phone, emulated from its dump')
    .action(
      (
        options: DoorFileOptions & {
          phone?: string;
          passphrase?: string;
          doorCard?: string;
          screen: string;
          card?: string;
        },
      ) =>
        run(async () => {
          if (options.card && options.phone)
            throw new InvalidArgumentError('tap a phone (--phone) or a card (--card), not both');
          if (options.screen !== 'on' && options.screen !== 'off') throw new InvalidArgumentError('--screen on or off');
          const path = doorPath(options);
          const reader = new DoorReader(loadDoorReader(path));
          let tag;
          if (options.card) {
            const file = readDumpArgument(options.card);
            tag = cardFromDumpFile(file.name, file.bytes);
          } else {
            const passphrase = options.passphrase ?? process.env.MIPAY_PHONE_PASSPHRASE;
            if (!passphrase)
              throw new InvalidArgumentError(
                "the phone's passphrase is needed: --passphrase <text> or MIPAY_PHONE_PASSPHRASE",
              );
            const phone = await MiPhone.open(phoneStatePath(options), passphrase);
            tag = phone.doorApplet({ screen: options.screen, ...(options.doorCard ? { card: options.doorCard } : {}) });
          }
          const event = reader.present(tag);
          saveDoorReader(path, reader.state);
          out(eventLine(event));
          if (event.result !== 'opened') process.exitCode = 2;
        }),
    );

  command(
    'make-card',
    "write a new MIFARE Classic card's dump (Proxmark3 .bin or .json, keys included) to hold to a phone or a door",
  )
    .requiredOption('--out <file>', 'where to write the dump: .bin (4-byte UIDs) or .json')
    .option('--size <1k|4k>', 'memory size', '1k')
    .option('--uid <hex>', 'the UID, 4 or 7 bytes (default: random)', hexArgument([4, 7]))
    .option('--key <hex>', 'key A and B of every sector', hexArgument([6]))
    .option(
      '--sector-key <sector:hex>',
      "key A and B of one sector (repeatable): an issuer's own key makes the card encrypted",
      (value: string, previous: Record<number, Buffer>) => {
        const [sector, key] = value.split(':');
        if (!/^[0-9]{1,2}$/.test(sector ?? '') || Number(sector) > 39)
          throw new InvalidArgumentError('<sector 0–39>:<6 bytes hex>');
        return { ...previous, [Number(sector)]: hexArgument([6])(key ?? '') };
      },
      {} as Record<number, Buffer>,
    )
    .option(
      '--data <block:text>',
      'text for a data block (repeatable)',
      (value: string, previous: Record<number, Buffer>) => {
        const colon = value.indexOf(':');
        const block = Number(value.slice(0, colon));
        if (colon < 1 || !Number.isInteger(block) || block < 1 || block > 255)
          throw new InvalidArgumentError('<block 1–255>:<text of up to 16 bytes>');
        return { ...previous, [block]: Buffer.from(value.slice(colon + 1).padEnd(16, '\0')).subarray(0, 16) };
      },
      {} as Record<number, Buffer>,
    )
    .action(
      (options: {
        out: string;
        size: string;
        uid?: Buffer;
        key?: Buffer;
        sectorKey: Record<number, Buffer>;
        data: Record<number, Buffer>;
      }) =>
        run(() => {
          if (options.size !== '1k' && options.size !== '4k') throw new InvalidArgumentError('--size 1k or 4k');
          const sectorKeys = Object.fromEntries(Object.entries(options.sectorKey).map(([s, k]) => [s, { a: k, b: k }]));
          const image = generateClassicImage({
            size: options.size,
            ...(options.uid ? { uid: options.uid } : {}),
            ...(options.key ? { keyA: options.key, keyB: options.key } : {}),
            sectorKeys,
            data: options.data,
          });
          const asJson = options.out.toLowerCase().endsWith('.json');
          if (!asJson && image.uid.length === 7)
            throw new InvalidArgumentError('a raw .bin dump cannot say a 7-byte UID: write a .json');
          writeFileSync(options.out, asJson ? imageToProxmarkJson(image) : imageToProxmarkBin(image), {
            mode: 0o600,
            flag: 'wx',
          });
          out(
            `card written to ${options.out}: MIFARE Classic ${options.size.toUpperCase()}, ` +
              `UID ${image.uid.toString('hex').toUpperCase()}`,
          );
        }),
    );
}
