// One entry point for the dump files people already have: the file name's extension picks the
// reader (Proxmark3 .bin/.eml/.json, Flipper Zero .nfc), the result is checked as a card is.
import { imageFromDump, type ClassicImage } from './classic-image.ts';
import { MifareError } from './errors.ts';
import { parseFlipperNfc } from './flipper-dump.ts';
import { parseProxmarkBin, parseProxmarkEml, parseProxmarkJson } from './proxmark-dump.ts';

/** Larger than any MIFARE Classic dump in these formats (a 4K .nfc file is about 13 KB). */
export const dumpFileBytesMax = 64 * 1024;

export type DumpFormat = 'proxmark-bin' | 'proxmark-eml' | 'proxmark-json' | 'flipper-nfc';

export function dumpFormatOf(fileName: string): DumpFormat {
  const extension = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  switch (extension) {
    case 'bin':
    case 'dump':
    case 'mfd':
      return 'proxmark-bin';
    case 'eml':
      return 'proxmark-eml';
    case 'json':
      return 'proxmark-json';
    case 'nfc':
      return 'flipper-nfc';
    default:
      throw new MifareError(
        'dump_invalid',
        `${fileName}: not a dump format this phone reads ` +
          '(.bin, .eml, .json from a Proxmark3; .nfc from a Flipper Zero).',
        { where: 'file name' },
      );
  }
}

/** Reads and checks a dump file's bytes (BCC, UID vs block 0, access bits, ATQA/SAK). Throws MifareError. */
export function readDumpFile(fileName: string, bytes: Buffer): ClassicImage & { format: DumpFormat } {
  if (bytes.length > dumpFileBytesMax)
    throw new MifareError(
      'dump_invalid',
      `${fileName} is larger than any MIFARE Classic dump (${bytes.length} bytes).`,
      { where: 'size' },
    );
  const format = dumpFormatOf(fileName);
  const text = () => {
    const decoded = bytes.toString('utf8');
    if (decoded.includes('\uFFFD'))
      throw new MifareError('dump_invalid', `${fileName} is not text.`, { where: 'encoding' });
    return decoded;
  };
  const parsed =
    format === 'proxmark-bin'
      ? parseProxmarkBin(bytes)
      : format === 'proxmark-eml'
        ? parseProxmarkEml(text())
        : format === 'proxmark-json'
          ? parseProxmarkJson(text())
          : parseFlipperNfc(text());
  return { ...imageFromDump(parsed), format };
}
