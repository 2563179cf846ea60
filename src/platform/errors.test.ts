import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { platformErrorSpecs } from './errors.ts';

test('README documents every platform error code with its HTTP status', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [code, spec] of Object.entries(platformErrorSpecs)) {
    assert.match(readme, new RegExp(`\\| \`${code}\` \\| ${spec.status} \\|`), `README's Errors table lacks ${code} (${spec.status})`);
  }
});

test('every error spec says when it is raised', () => {
  for (const [code, spec] of Object.entries(platformErrorSpecs)) {
    assert.ok(spec.raisedWhen.length > 15, code);
    assert.ok(spec.status >= 400 && spec.status < 600, code);
  }
});
