// Proxmark3 dump files of MIFARE Classic cards (RfidResearchGroup client, client/src/fileutils.c):
// `.bin` is the raw memory, 1024 or 4096 bytes; `.eml` is one block per line, 32 hex digits;
// `.json` is `{"Created": "proxmark3", "FileType": "mfcard" | "mfc v2" | "mfc v3", "Card": {UID,
// ATQA, SAK}, "blocks": {"0": hex, …}, "SectorKeys": {…}}`, where Card.ATQA is the two bytes in
// the order the card sent them (least significant first: "0400" for 0x0004).
import type { ParsedDump } from './classic-image.ts';
import { MifareError } from './errors.ts';
import { BLOCK_BYTES } from './layout.ts';

const HEX_BLOCK = /^[0-9A-Fa-f]{32}$/;
const blocksMax = 256;

function invalid(message: string, where: string): MifareError {
  return new MifareError('dump_invalid', message, { where });
}

/** `hf mf dump` binary output: the card's memory, block after block. */
export function parseProxmarkBin(bytes: Buffer): ParsedDump {
  if (bytes.length !== 1024 && bytes.length !== 4096) {
    throw invalid(
      `A Proxmark3 .bin dump of a MIFARE Classic card is 1024 (1K) or 4096 (4K) bytes; this file has ${bytes.length}.`,
      'size',
    );
  }
  const blocks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += BLOCK_BYTES) blocks.push(Buffer.from(bytes.subarray(i, i + BLOCK_BYTES)));
  return { format: 'Proxmark3 .bin dump', blocks, unknownKeys: [] };
}

/** Emulator memory (`hf mf eload`/`esave`): one block per line, 32 hex digits; no trailing line required. */
export function parseProxmarkEml(text: string): ParsedDump {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length > blocksMax)
    throw invalid(`A .eml dump has at most ${blocksMax} lines; this one has ${lines.length}.`, 'lines');
  const blocks = lines.map((line, i) => {
    const trimmed = line.trim();
    if (!HEX_BLOCK.test(trimmed))
      throw invalid(`Line ${i + 1} of the .eml dump is not one block of 32 hex digits.`, `line ${i + 1}`);
    return Buffer.from(trimmed, 'hex');
  });
  if (blocks.length !== 64 && blocks.length !== 256) {
    throw invalid(
      `The .eml dump has ${blocks.length} lines; a MIFARE Classic 1K dump has 64 and a 4K dump 256 ` +
        '(the file may be truncated).',
      'lines',
    );
  }
  return { format: 'Proxmark3 .eml dump', blocks, unknownKeys: [] };
}

function hexField(value: unknown, bytes: number | [number, number], where: string): Buffer {
  const [min, max] = typeof bytes === 'number' ? [bytes, bytes] : bytes;
  if (
    typeof value !== 'string' ||
    !/^(?:[0-9A-Fa-f]{2})+$/.test(value) ||
    value.length / 2 < min ||
    value.length / 2 > max
  ) {
    throw invalid(`${where} must be ${min === max ? min : `${min} to ${max}`} bytes of hex.`, where);
  }
  return Buffer.from(value, 'hex');
}

/** The client's JSON dump: the blocks, and the card's UID, ATQA and SAK as the reader saw them. */
export function parseProxmarkJson(text: string): ParsedDump {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw invalid(`The .json dump is not valid JSON (${(error as Error).message}).`, 'json');
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root))
    throw invalid('The .json dump must be an object.', 'json');
  const file = root as Record<string, unknown>;
  if (file.Created !== 'proxmark3')
    throw invalid('The .json dump was not made by a Proxmark3 ("Created": "proxmark3").', 'Created');
  if (!['mfcard', 'mfc v2', 'mfc v3'].includes(String(file.FileType))) {
    throw invalid(
      `FileType ${JSON.stringify(file.FileType)} is not a MIFARE Classic dump ("mfcard", "mfc v2" or "mfc v3").`,
      'FileType',
    );
  }
  const card = file.Card as Record<string, unknown> | undefined;
  if (typeof card !== 'object' || card === null) throw invalid('The .json dump has no Card {UID, ATQA, SAK}.', 'Card');
  const uid = hexField(card.UID, [4, 7], 'Card.UID');
  const atqaBytes = hexField(card.ATQA, 2, 'Card.ATQA');
  const sak = hexField(card.SAK, 1, 'Card.SAK')[0]!;
  const given = file.blocks;
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw invalid('The .json dump has no "blocks" object.', 'blocks');
  const entries = Object.keys(given);
  if (entries.length > blocksMax) throw invalid(`The .json dump has more than ${blocksMax} blocks.`, 'blocks');
  const blocks: Buffer[] = [];
  // Blocks are "0", "1", … without a gap: a missing one means the file was cut.
  for (let i = 0; i < entries.length; i++) {
    const value = (given as Record<string, unknown>)[String(i)];
    if (value === undefined)
      throw invalid(`The .json dump has no block ${i} (truncated or renumbered).`, `blocks.${i}`);
    blocks.push(hexField(value, 16, `blocks.${i}`));
  }
  return {
    format: 'Proxmark3 .json dump',
    blocks,
    unknownKeys: [],
    card: { uid, atqa: atqaBytes[0]! | (atqaBytes[1]! << 8), sak },
  };
}
