/**
 * A real CJK font for the electronic vouchers: Noto Sans SC (SIL Open Font License) from the
 * `@fontsource/noto-sans-sc` npm package, so a clean checkout renders Chinese with `npm ci`
 * alone. Fontsource splits the font into ~100 WOFF files by Unicode range (its CSS names each
 * file's `unicode-range`); text is cut into runs of characters that one file covers, and only
 * the files a document uses are embedded, each as a subset of the glyphs it draws.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface Slice {
  file: string;
  ranges: Array<[number, number]>;
}

let slices: Slice[] | undefined;
const fileBytes = new Map<string, Uint8Array>();

function packageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@fontsource/noto-sans-sc/package.json'));
}

/** The regular (400) slices and the code points each covers, from the package's CSS. */
function loadSlices(): Slice[] {
  if (slices) return slices;
  const dir = packageDir();
  const css = readFileSync(join(dir, '400.css'), 'utf8');
  const found: Slice[] = [];
  for (const block of css.split('@font-face').slice(1)) {
    const file = /url\(\.\/files\/([^)]+\.woff)\) format\('woff'\)/.exec(block)?.[1];
    const range = /unicode-range:\s*([^;]+);/.exec(block)?.[1];
    if (!file || !range) continue;
    const ranges = range.split(',').map((part): [number, number] => {
      const [from, to] = part.trim().replace(/^U\+/i, '').split('-');
      return [parseInt(from!, 16), parseInt(to ?? from!, 16)];
    });
    found.push({ file: join(dir, 'files', file), ranges });
  }
  if (found.length === 0) throw new Error('@fontsource/noto-sans-sc: no WOFF slices found in 400.css');
  slices = found;
  return found;
}

/** The slice file holding `codePoint`, or undefined when the font has no glyph for it. */
export function fontFileFor(codePoint: number): string | undefined {
  return loadSlices().find((s) => s.ranges.some(([from, to]) => codePoint >= from && codePoint <= to))?.file;
}

export function fontBytes(file: string): Uint8Array {
  let bytes = fileBytes.get(file);
  if (!bytes) {
    bytes = readFileSync(file);
    fileBytes.set(file, bytes);
  }
  return bytes;
}

/** `text` cut into runs that one slice file draws; characters no slice has are replaced by `?` in the first slice's run. */
export function fontRuns(text: string): Array<{ file: string; text: string }> {
  const runs: Array<{ file: string; text: string }> = [];
  const fallback = fontFileFor(0x3f)!;
  for (const char of text) {
    const file = fontFileFor(char.codePointAt(0)!) ?? fallback;
    const shown = file === fallback && fontFileFor(char.codePointAt(0)!) === undefined ? '?' : char;
    const last = runs[runs.length - 1];
    if (last && last.file === file) last.text += shown;
    else runs.push({ file, text: shown });
  }
  return runs;
}
