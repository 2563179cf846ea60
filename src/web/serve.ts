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
  const index = (): string => {
    if (!existsSync(join(dist, 'index.html'))) throw errors.service_unavailable('The web is not built: `npm start` builds it (web/ → web/dist).');
    return readFileSync(join(dist, 'index.html'), 'utf8');
  };
  // The asset names the build wrote, listed once the build exists: anything else under /assets/ is a 404.
  const assetsDir = join(dist, 'assets');
  let assets: Map<string, string> | undefined;
  const assetPath = (name: string): string | undefined => {
    if (!assets && existsSync(assetsDir)) assets = new Map(readdirSync(assetsDir).map((file) => [file, join(assetsDir, file)]));
    return assets?.get(name);
  };
  const security = [
    "default-src 'self'", "img-src 'self' data: blob:", "style-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'",
    "base-uri 'none'", "form-action 'self'",
  ].join('; ');
  const pages = ['/', '/lab', '/ops'] as const;
  for (const page of pages) {
    app.get(page, { schema: { hide: true, errors: [errors.not_found, errors.service_unavailable] } }, async (_request, reply) => {
      if (page === '/lab' && !options.sandbox) throw errors.not_found('The lab exists in sandbox mode only.');
      return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', security)
        .header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(index());
    });
  }
  app.get('/assets/:name', { schema: { hide: true, errors: [errors.not_found] } }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const path = /^[A-Za-z0-9._-]{1,128}$/.test(name) ? assetPath(name) : undefined;
    if (!path) throw errors.not_found(`No web asset ${name}.`);
    return reply.header('content-type', types[extname(name)] ?? 'application/octet-stream').header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=31536000, immutable').send(readFileSync(path));
  });
}
