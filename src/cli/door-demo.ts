// `mipay demo --door`: door cards (门卡模拟) step by step, offline as the phone does it — a Mi
// phone reads an unencrypted access card held to it and keeps it in its secure element (an
// encrypted state file), a door reader opens for the phone, with the screen off once express is
// on, and an encrypted card and a CPU card are refused with the reason, nothing kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhoneError } from '../phone/party.ts';
import { MiPhone } from '../phone/party.ts';
import { CpuCardEmulator } from '../terminal/card-emulator/cpu-card.ts';
import { generateClassicCard } from '../terminal/card-emulator/mifare-classic-card.ts';
import { DoorReader, type DoorEvent } from '../terminal/party.ts';

export interface DoorDemoOptions {
  keep?: boolean;
  write?: (text: string) => void;
}

export async function runDoorDemo(options: DoorDemoOptions = {}): Promise<{ events: DoorEvent[] }> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  let stepNumber = 0;
  const step = (title: string) => write(`\n${++stepNumber}. ${title}\n`);
  const say = (text: string) => write(`   ${text}\n`);
  const event = (e: DoorEvent) =>
    say(
      `door: ${e.result === 'opened' ? 'OPENED' : 'REFUSED'} ${e.uidMasked ?? '(no card)'}` +
        `${e.label ? ` (${e.label})` : ''} — ${e.reason}`,
    );
  const refusal = (work: () => unknown) => {
    try {
      work();
    } catch (error) {
      if (error instanceof PhoneError) return say(`refused [${error.code}]: ${error.message}`);
      throw error;
    }
    throw new Error('the phone should have refused this card');
  };

  const dir = mkdtempSync(join(tmpdir(), 'mipay-door-demo-'));
  try {
    write(`Mi Pay Open door card demo (门卡模拟) — offline, the phone's state file in ${dir}\n`);

    step('A Mi phone: its secure element is an encrypted state file');
    const phone = await MiPhone.create({
      path: join(dir, 'phone.mipay'),
      passphrase: 'demo-phone-passphrase',
      platformUrl: 'http://127.0.0.1:1',
      passcode: '246810',
    });
    say(`${phone.state.device.model}, NFC on; no Mi account needed for door cards`);

    step(
      'Hold the office access card to the phone: MIFARE Classic 1K, never re-keyed (transport keys), ' +
        'employee number in block 4',
    );
    const officeCard = generateClassicCard({
      size: '1k',
      uid: Buffer.from('5E1C22A9', 'hex'),
      data: { 4: Buffer.from('EMPLOYEE-0042\0\0\0') },
    });
    const copied = phone.readDoorCard(officeCard, 'Office');
    say(
      `the phone read all 16 sectors with well-known default keys: copied as ${copied.id} "${copied.name}", ` +
        `UID ${copied.uidMasked}, ${copied.type}`,
    );

    step("The office door reader: the card's UID on its allowlist, and block 4 checked with the default key");
    const door = new DoorReader(DoorReader.empty('Office, 3rd floor'));
    door.allow({
      uid: '5E1C22A9',
      label: 'Zhang Wei',
      sector: {
        block: 4,
        keyType: 'A',
        key: 'FFFFFFFFFFFF',
        value: Buffer.from('EMPLOYEE-0042\0\0\0').toString('hex'),
      },
    });
    say('hold the phone to the door, screen on:');
    event(door.present(phone.doorApplet({ screen: 'on' })));

    step('Screen off: only a door card with express on answers');
    event(door.present(phone.doorApplet({ screen: 'off' })));
    phone.setDoorCardExpress(copied.id, true);
    say('express turned on for "Office" (bank cards never answer with the screen off)');
    event(door.present(phone.doorApplet({ screen: 'off' })));

    step("Hold a residential card with the management company's own key in sector 2 to the phone");
    const encrypted = generateClassicCard({
      size: '1k',
      uid: Buffer.from('A1B2C3D4', 'hex'),
      sectorKeys: { 2: { a: Buffer.from('5A3C9E17B2D4', 'hex'), b: Buffer.from('C4E1D07A93B6', 'hex') } },
    });
    refusal(() => phone.readDoorCard(encrypted, 'Home'));

    step('Hold a CPU access card (ISO 14443-4) to the phone');
    refusal(() => phone.readDoorCard(new CpuCardEmulator(), 'Campus'));
    say(
      `the phone keeps ${phone.doorCards().length} door card: ${phone
        .doorCards()
        .map((c) => `"${c.name}"`)
        .join(', ')}`,
    );

    step("A stranger's card at the office door");
    event(door.present(generateClassicCard({ size: '1k', uid: Buffer.from('DEADBEEF', 'hex') })));

    write(
      '\nDone: copy an unencrypted card → open a door → refuse an encrypted card and a CPU card.' +
        `${options.keep ? ` Data kept in ${dir}` : ''}\n`,
    );
    return { events: door.state.events };
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}
