// Flipper Zero `.nfc` files of MIFARE Classic cards (flipperzero-firmware,
// documentation/file_formats/NfcFileFormats.md): "Key: value" lines — Filetype "Flipper NFC
// device", Version 2 to 4, Device type "Mifare Classic", UID, ATQA, SAK, "Mifare Classic type"
// 1K | 4K, then "Block N: " 16 bytes of hex separated by spaces, `??` for a byte the Flipper could
// not read. ATQA is least significant byte first in version 2, most significant first from 3.
import type { KeyType } from './access-bits.ts';
import type { ParsedDump } from './classic-image.ts';
import { MifareError } from './errors.ts';
import { isTrailerBlock, sectorOfBlock } from './layout.ts';

const linesMax = 400;

function invalid(message: string, where: string): MifareError {
  return new MifareError('dump_invalid', message, { where });
}

function hexBytes(value: string | undefined, count: number | [number, number], where: string): Buffer {
  const parts = (value ?? '').trim().split(/\s+/);
  const [min, max] = typeof count === 'number' ? [count, count] : count;
  if (parts.length < min || parts.length > max || !parts.every((p) => /^[0-9A-Fa-f]{2}$/.test(p))) {
    throw invalid(
      `${where} must be ${min === max ? min : `${min} or ${max}`} bytes of hex separated by spaces.`,
      where,
    );
  }
  return Buffer.from(parts.join(''), 'hex');
}

export function parseFlipperNfc(text: string): ParsedDump {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > linesMax)
    throw invalid(`A Flipper .nfc file of a MIFARE Classic card has at most ${linesMax} lines.`, 'lines');
  const fields = new Map<string, string>();
  const blockLines = new Map<number, { value: string; line: number }>();
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw invalid(`Line ${i + 1} of the .nfc file is not "Key: value".`, `line ${i + 1}`);
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const block = /^Block (\d{1,3})$/.exec(key);
    if (block) blockLines.set(Number(block[1]), { value, line: i + 1 });
    else fields.set(key, value);
  }
  if (fields.get('Filetype') !== 'Flipper NFC device')
    throw invalid('The file is not a Flipper NFC device file (Filetype).', 'Filetype');
  const version = Number(fields.get('Version'));
  if (![2, 3, 4].includes(version))
    throw invalid(
      `Flipper NFC file version ${fields.get('Version') ?? '(none)'} is not one this phone reads (2, 3 or 4).`,
      'Version',
    );
  if (fields.get('Device type') !== 'Mifare Classic')
    throw invalid(`Device type ${fields.get('Device type') ?? '(none)'} is not "Mifare Classic".`, 'Device type');
  const type = fields.get('Mifare Classic type');
  const blockCount = type === '1K' ? 64 : type === '4K' ? 256 : undefined;
  if (!blockCount) throw invalid(`Mifare Classic type ${type ?? '(none)'} is not 1K or 4K.`, 'Mifare Classic type');
  const uid = hexBytes(fields.get('UID'), [4, 7], 'UID');
  if (uid.length !== 4 && uid.length !== 7) throw invalid('UID must be 4 or 7 bytes.', 'UID');
  const atqaBytes = hexBytes(fields.get('ATQA'), 2, 'ATQA');
  const atqa = version === 2 ? atqaBytes[0]! | (atqaBytes[1]! << 8) : (atqaBytes[0]! << 8) | atqaBytes[1]!;
  const sak = hexBytes(fields.get('SAK'), 1, 'SAK')[0]!;

  const blocks: (Buffer | null)[] = [];
  const unknownKeys: { sector: number; key: KeyType }[] = [];
  for (let i = 0; i < blockCount; i++) {
    const entry = blockLines.get(i);
    if (!entry) throw invalid(`The .nfc file has no Block ${i} (truncated).`, `Block ${i}`);
    const parts = entry.value.split(/\s+/);
    if (parts.length !== 16 || !parts.every((p) => /^(?:[0-9A-Fa-f]{2}|\?\?)$/.test(p))) {
      throw invalid(`Block ${i} (line ${entry.line}) must be 16 bytes of hex or ?? separated by spaces.`, `Block ${i}`);
    }
    const unknown = parts.map((p) => p === '??');
    if (!unknown.some(Boolean)) {
      blocks.push(Buffer.from(parts.join(''), 'hex'));
      continue;
    }
    // A trailer with unknown keys is still a trailer if its access bits are known; anything else unknown is unknown.
    if (isTrailerBlock(i) && !unknown.slice(6, 10).some(Boolean)) {
      const sector = sectorOfBlock(i);
      if (unknown.slice(0, 6).some(Boolean)) unknownKeys.push({ sector, key: 'A' });
      if (unknown.slice(10, 16).some(Boolean)) unknownKeys.push({ sector, key: 'B' });
      blocks.push(Buffer.from(parts.map((p) => (p === '??' ? '00' : p)).join(''), 'hex'));
    } else {
      blocks.push(null);
    }
  }
  if (blockLines.size > blockCount || [...blockLines.keys()].some((n) => n >= blockCount)) {
    throw invalid(`The .nfc file has blocks beyond the ${blockCount} of a ${type} card.`, 'Block');
  }
  return { format: 'Flipper Zero .nfc file', blocks, unknownKeys, card: { uid, atqa, sak } };
}
