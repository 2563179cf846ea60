/**
 * Which methods each registered path answers, so a request with the wrong method on a path that
 * exists gets 405 with `Allow` (RFC 9110, 15.5.6) instead of 404. Fastify's router answers "no
 * route" for both; this table tells them apart.
 */
export class RouteTable {
  readonly #routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  /** Records `method` on a Fastify path such as `/v1/cards/:id` or `/docs/*`. */
  add(method: string | string[], url: string): void {
    let entry = this.#routes.get(url);
    if (!entry) {
      entry = { pattern: pathPattern(url), methods: new Set() };
      this.#routes.set(url, entry);
    }
    for (const m of Array.isArray(method) ? method : [method]) entry.methods.add(m.toUpperCase());
  }

  /** The methods some route answers on this concrete path, sorted; empty when no route has the path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: own } of this.#routes.values()) {
      if (pattern.test(path)) for (const m of own) methods.add(m);
    }
    return [...methods].sort();
  }
}

function pathPattern(url: string): RegExp {
  let source = '';
  for (const segment of url.split(/(:[A-Za-z0-9_]+|\*)/)) {
    if (segment === '*') source += '.*';
    else if (segment.startsWith(':')) source += '[^/]+';
    else source += segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
