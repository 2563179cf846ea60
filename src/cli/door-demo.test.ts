import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const bin = new URL('../../bin/mipay.mjs', import.meta.url).pathname;

test(
  '`mipay demo --door` copies a card, opens a door (screen off with express), refuses an encrypted and a CPU card',
  {
    skip: process.env.MIPAY_TEST_DB === 'postgres' ? 'no database involved: runs once, in the PGlite suite' : false,
  },
  () => {
    const result = spawnSync(process.execPath, [bin, 'demo', '--door'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const out = result.stdout;
    assert.match(out, /copied as door_[0-9a-f]{12} "Office", UID 5E:\*\*:\*\*:A9, MIFARE Classic 1K/);
    assert.match(out, /screen on:\n +door: OPENED 5E:\*\*:\*\*:A9 \(Zhang Wei\) — UID and sector value match/);
    assert.match(
      out,
      /4\. Screen off[^\n]*\n +door: REFUSED \(no card\) — no card answered\n.*express turned on[^\n]*\n +door: OPENED/,
    );
    assert.match(out, /refused \[door_card_encrypted\]: Sector 2 opens only with a key the phone does not know/);
    assert.match(out, /refused \[door_card_not_supported\]: Card type ISO 14443-4 CPU card/);
    assert.match(out, /the phone keeps 1 door card: "Office"/);
    assert.match(out, /door: REFUSED DE:\*\*:\*\*:EF — card not on the allowlist/);
    assert.ok(!out.includes('5E1C22A9'), 'the demo never prints a full UID');
  },
);
