import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertKeyringOutsideDataFolder, openSecuredDatabase, secureDataFolder } from './data-folder.ts';

const root = mkdtempSync(join(tmpdir(), 'mipay-data-folder-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Every file and folder under `path` with its permission bits. */
function modes(path: string): { path: string; mode: number; directory: boolean }[] {
  const out = [{ path, mode: statSync(path).mode & 0o777, directory: true }];
  for (const entry of readdirSync(path, { recursive: true }) as string[]) {
    const stat = statSync(join(path, entry));
    out.push({ path: entry, mode: stat.mode & 0o777, directory: stat.isDirectory() });
  }
  return out;
}

describe('the data folder', () => {
  it('is 0700 with every file 0600 after a real PGlite database wrote to it, WAL included', async () => {
    const folder = join(root, 'fresh');
    const database = await openSecuredDatabase({ kind: 'pglite', dataDir: join(folder, 'pglite') });
    await database.root.schema.createTable('t').addColumn('v', 'text').execute();
    for (let i = 0; i < 50; i++) await database.root.insertInto('t' as never).values({ v: 'x'.repeat(500) } as never).execute();
    await database.root.schema.createTable('u').addColumn('v', 'text').execute();
    await database.close();
    writeFileSync(join(folder, 'runtime.json'), '{}');
    const all = modes(folder);
    assert.ok(all.some((e) => /pg_wal\/[0-9A-F]{24}$/.test(e.path)), 'PGlite wrote WAL segments');
    assert.ok(all.length > 100, 'PGlite wrote its files');
    assert.deepEqual(all.filter((e) => e.mode !== (e.directory ? 0o700 : 0o600)), []);
  });

  it('tightens a folder an older version left open (0777 folders, 0666 files)', () => {
    const folder = join(root, 'old');
    process.umask(0o000);
    mkdirSync(join(folder, 'pglite', 'pg_wal'), { recursive: true, mode: 0o777 });
    writeFileSync(join(folder, 'pglite', 'pg_wal', '000000010000000000000001'), 'wal', { mode: 0o666 });
    writeFileSync(join(folder, 'runtime.json'), '{}', { mode: 0o666 });
    assert.ok(modes(folder).some((e) => e.mode === 0o666), 'the old folder is open to begin with');
    secureDataFolder(folder);
    assert.deepEqual(modes(folder).filter((e) => e.mode !== (e.directory ? 0o700 : 0o600)), []);
  });

  it('refuses a keyring kept inside it', () => {
    assert.throws(() => assertKeyringOutsideDataFolder('/srv/mipay/data/keyring.json', '/srv/mipay/data'), /inside the data folder/);
    assert.throws(() => assertKeyringOutsideDataFolder('/srv/mipay/data/sub/k.json', '/srv/mipay/data/'), /inside the data folder/);
    assertKeyringOutsideDataFolder('/srv/mipay/keyring.json', '/srv/mipay/data');
    assertKeyringOutsideDataFolder('/srv/mipay/data-keyring.json', '/srv/mipay/data');
  });
});
