import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where merchant webhooks may go (issue 10, section 8): public internet addresses only. A URL
 * whose host is, or resolves to, a loopback, private, link-local, CGNAT, cloud-metadata,
 * multicast or otherwise reserved address is refused — when the merchant sets it, and again at
 * every delivery, on the very address the socket connects to (DNS may answer differently the
 * second time: rebinding). The sandbox may allow loopback explicitly, for local receivers.
 */
export interface DestinationPolicy {
  allowLoopback: boolean;
}

export class ForbiddenDestinationError extends Error {
  override name = 'ForbiddenDestinationError';
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

// Everything that is not a public unicast address (IANA special-purpose registries, RFC 6890).
const nonPublic = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) nonPublic.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) nonPublic.addSubnet(net, prefix, 'ipv6');

const metadataHosts = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) IPv6 address. */
function embeddedIpv4(ipv6: string): string | undefined {
  const groups = expand(ipv6);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  // IPv4-compatible (::a.b.c.d, deprecated) still routes to the IPv4 address on some stacks.
  if (groups.slice(0, 6).every((g) => g === 0) && (groups[6]! > 0 || groups[7]! > 1)) return v4(groups[6]!, groups[7]!);
  return undefined;
}

function expand(ipv6: string): number[] {
  let text = ipv6;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.map((g) => Number.parseInt(g, 16));
}

/** Why an address may not receive webhooks, or undefined when it may. */
export function forbiddenAddressReason(address: string, policy: DestinationPolicy): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (family === 6) {
    const inner = embeddedIpv4(address);
    if (inner) return forbiddenAddressReason(inner, policy);
  }
  if (loopback.check(address, type)) return policy.allowLoopback ? undefined : 'a loopback address';
  if (address === '169.254.169.254' || address === '100.100.100.200' || address.toLowerCase() === 'fd00:ec2::254') return 'a cloud metadata address';
  if (nonPublic.check(address, type)) return 'a private, link-local, shared (CGNAT) or reserved address';
  return undefined;
}

/** Parses a webhook URL and refuses a literal address or a metadata host name outright. */
export function checkDestinationUrl(url: string, policy: DestinationPolicy): URL {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ForbiddenDestinationError('webhooks go to http or https URLs');
  if (parsed.username || parsed.password) throw new ForbiddenDestinationError('a webhook URL carries no user name or password');
  // WHATWG URL parsing has already turned 127.1, 0x7f000001 or 2130706433 into 127.0.0.1.
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (metadataHosts.has(host)) throw new ForbiddenDestinationError(`${host} is a cloud metadata service`);
  if (host === 'localhost' || host.endsWith('.localhost')) {
    if (!policy.allowLoopback) throw new ForbiddenDestinationError(`${host} is a loopback name`);
  }
  if (isIP(host)) {
    const reason = forbiddenAddressReason(host, policy);
    if (reason) throw new ForbiddenDestinationError(`${parsed.hostname} is ${reason}`);
  }
  return parsed;
}

/** Resolves a URL's host and refuses it if any address it resolves to is forbidden. */
export async function checkDestination(url: string, policy: DestinationPolicy): Promise<void> {
  const parsed = checkDestinationUrl(url, policy);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return;
  const addresses = await new Promise<{ address: string }[]>((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (error, found) => (error ? reject(new ForbiddenDestinationError(`${host} does not resolve`)) : resolve(found)));
  });
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address, policy);
    if (reason) throw new ForbiddenDestinationError(`${host} resolves to ${reason}`);
  }
}

/**
 * A `lookup` for node:http(s) that refuses forbidden addresses: the connection goes to the
 * address checked here and nowhere else, whatever DNS answered when the URL was set.
 */
export function guardedLookup(policy: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, found) => {
      if (error) return callback(error, '', 0);
      const addresses = found as unknown as { address: string; family: number }[];
      for (const { address } of addresses) {
        const reason = forbiddenAddressReason(address, policy);
        if (reason) return callback(new ForbiddenDestinationError(`${hostname} resolves to ${reason}`), '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
