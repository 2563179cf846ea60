// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata polyfill
// loaded before it; this file is the one place that imports the library, in that order (the
// platform's CA and the phone's CSRs both come through here).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
