/**
 * The platform (Xiaomi's wallet server) as the cli (and test wiring) builds it: the HTTP app with
 * its domains, its schema and migrations, and the key-rewrap job. Other parties import
 * ./client.ts instead.
 */
export { createPlatform, type Platform, type PlatformOptions } from './app.ts';
export { platformMigrations, platformSchema } from './migrations/index.ts';
export type { PlatformTables } from './tables.ts';
export { KekRewrap } from './kek-rewrap.ts';
