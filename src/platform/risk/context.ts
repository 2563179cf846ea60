/**
 * The risk context of a request: what the phone reports about itself in headers (device id,
 * model, OS version, network type) and what the platform sees (the IP, and its region from an
 * offline IP database). Nothing here asks a service on the Internet: the region comes from the
 * `ip2region` package's data file, read once into memory.
 */
import type { FastifyRequest } from 'fastify';
import IP2RegionModule from 'ip2region';

/** The network types a phone may report in `Mipay-Network-Type`; anything else is recorded as `unknown`. */
export const networkTypes = ['wifi', '5g', '4g', '3g', '2g', 'ethernet', 'none', 'unknown'] as const;
export type NetworkType = (typeof networkTypes)[number];

/** The headers a phone sends with each request (all optional: a browser sends none). */
export const riskHeaders = {
  deviceId: 'mipay-device-id',
  deviceModel: 'mipay-device-model',
  osVersion: 'mipay-os-version',
  networkType: 'mipay-network-type',
} as const;

export interface Region {
  country: string | null;
  /** The province for China (e.g. 广东省), else null. */
  region: string | null;
  city: string | null;
}

export interface RequestRiskContext extends Region {
  deviceId: string | null;
  deviceModel: string | null;
  osVersion: string | null;
  networkType: NetworkType;
  ip: string | null;
}

interface Ip2Region {
  search(ip: string): { country: string; province: string; city: string; isp: string } | null;
}

// The package is CommonJS with `exports.default`; under tsx/Node ESM the class may sit one level down.
const IP2Region = ((IP2RegionModule as unknown as { default?: unknown }).default ?? IP2RegionModule) as new () => Ip2Region;
let lookup: Ip2Region | undefined;

const emptyRegion: Region = { country: null, region: null, city: null };

/** The region of an IP address from the offline database; private, loopback and unknown addresses have none. */
export function regionOf(ip: string | null | undefined): Region {
  if (!ip) return emptyRegion;
  lookup ??= new IP2Region();
  let found: ReturnType<Ip2Region['search']>;
  try {
    found = lookup.search(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  } catch {
    return emptyRegion;
  }
  if (!found || !found.country || found.country === '0') return emptyRegion;
  const clean = (text: string) => (text && text !== '0' ? text : null);
  const country = clean(found.country);
  const province = clean(found.province);
  // Outside China a province is rarely known: the country stands for the region, so a jump between countries is seen.
  return { country, region: province ?? country, city: clean(found.city) };
}

/** A header's value cut to a sane length and stripped of control characters, or null. */
function header(request: FastifyRequest, name: string, lengthMax: number): string | null {
  const value = request.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  const cleaned = text.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, lengthMax);
  return cleaned || null;
}

const contexts = new WeakMap<FastifyRequest, RequestRiskContext>();

/** The risk context of `request`, computed once per request. */
export function riskContextOf(request: FastifyRequest): RequestRiskContext {
  const known = contexts.get(request);
  if (known) return known;
  const reported = header(request, riskHeaders.networkType, 16)?.toLowerCase();
  const context: RequestRiskContext = {
    deviceId: header(request, riskHeaders.deviceId, 64),
    deviceModel: header(request, riskHeaders.deviceModel, 64),
    osVersion: header(request, riskHeaders.osVersion, 64),
    networkType: (networkTypes as readonly string[]).includes(reported ?? '') ? (reported as NetworkType) : 'unknown',
    ip: request.ip ?? null,
    ...regionOf(request.ip),
  };
  contexts.set(request, context);
  return context;
}
