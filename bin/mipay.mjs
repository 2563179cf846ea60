#!/usr/bin/env node
// The `mipay` command: TypeScript sources run through tsx's loader, no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
