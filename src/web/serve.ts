// The platform process serves the built web (web/dist): the user centre at /, the lab at /lab
// (sandbox only: 404 in production), the ops console at /ops, and the hashed assets under
// /assets/. Only files the build wrote are served: asset names are checked against a strict
// pattern and read from the assets folder alone (no path from the request reaches the disk).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { App } from '../infra/http/server.ts';
import { errors } from '../platform/errors.ts';
import { webDist } from './build.ts';

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.woff2': 'font/woff2', '.json': 'application/json',
};

export function registerWebRoutes(app: App, options: { sandbox: boolean; distDir?: string }): void {
  const dist = options.distDir ?? webDist;
  const index = (): string => readFileSync(join(dist, 'index.html'), 'utf8');
  // The asset names the build wrote, read once: anything else under /assets/ is a 404.
  const assetsDir = join(dist, 'assets');
  const assets = new Map<string, string>(existsSync(assetsDir) ? readdirSync(assetsDir).map((name) => [name, join(assetsDir, name)]) : []);
  const security = [
    "default-src 'self'", "img-src 'self' data: blob:", "style-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'",
    "base-uri 'none'", "form-action 'self'",
  ].join('; ');
  const pages = ['/', '/lab', '/ops'] as const;
  for (const page of pages) {
    app.get(page, { schema: { hide: true } }, async (_request, reply) => {
      if (page === '/lab' && !options.sandbox) throw errors.not_found('The lab exists in sandbox mode only.');
      return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', security)
        .header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(index());
    });
  }
  app.get('/assets/:name', { schema: { hide: true } }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const path = /^[A-Za-z0-9._-]{1,128}$/.test(name) ? assets.get(name) : undefined;
    if (!path) throw errors.not_found(`No web asset ${name}.`);
    return reply.header('content-type', types[extname(name)] ?? 'application/octet-stream').header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=31536000, immutable').send(readFileSync(path));
  });
}
