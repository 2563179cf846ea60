// Builds the web (web/, React + Vite) into web/dist when the build is missing or stale: the
// build records a hash of its sources (web/index.html, vite.config.ts, web/src/**, the lockfile)
// and is redone when they change. `mipay up` calls it before serving; the web's tests call it
// once per file, and a lock directory makes concurrent callers wait for one build.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const webRoot = new URL('../../web/', import.meta.url).pathname;
export const webDist = join(webRoot, 'dist');
const hashFile = join(webDist, '.source-hash');
const lockDir = join(webRoot, '.build-lock');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else out.push(path);
  }
  return out;
}

/** The hash of everything the build reads. */
export function webSourceHash(): string {
  const hash = createHash('sha256');
  const files = [join(webRoot, 'index.html'), join(webRoot, 'vite.config.ts'), ...sourceFiles(join(webRoot, 'src')), join(webRoot, '..', 'package-lock.json')];
  for (const file of files) hash.update(relative(webRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

export function webBuildIsCurrent(): boolean {
  return existsSync(join(webDist, 'index.html')) && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === webSourceHash();
}

/** Builds web/dist unless it is current; answers whether a build ran. */
export async function ensureWebBuilt(options: { log?: (line: string) => void } = {}): Promise<boolean> {
  if (webBuildIsCurrent()) return false;
  await acquireLock();
  try {
    if (webBuildIsCurrent()) return false;
    options.log?.('building the web (web/ → web/dist)…');
    const { build } = await import('vite');
    await build({ configFile: join(webRoot, 'vite.config.ts'), logLevel: 'warn' });
    writeFileSync(hashFile, webSourceHash());
    return true;
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

async function acquireLock(): Promise<void> {
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(lockDir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A build takes seconds; a lock older than 5 minutes was left by a killed process.
      if (Date.now() - statSync(lockDir).mtimeMs > 300_000) rmSync(lockDir, { recursive: true, force: true });
      if (waited > 600_000) throw new Error(`the web build lock ${lockDir} is held too long`);
      await sleep(250);
    }
  }
}
