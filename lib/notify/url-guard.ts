/**
 * Where a notification may be POSTed (SSRF guard). The notify URL comes from the run request, i.e.
 * from a caller, so it must not be able to make cbr-flow talk to the cloud's metadata services or to
 * the function's own loopback (the Lambda Runtime API listens on 127.0.0.1).
 *
 * - only http: and https:, and no user:password@ in the URL;
 * - never link-local (169.254.0.0/16: EC2/ECS metadata and credentials; fe80::/10), the EC2 IPv6
 *   metadata address fd00:ec2::254, the same reached through NAT64 (64:ff9b::a9fe:0/112), the
 *   unspecified address (0.0.0.0/8 reaches loopback on Linux; ::) or multicast;
 * - loopback (127.0.0.0/8, ::1, localhost) only when `allowLoopback` (local stage, tests).
 *
 * Host names are resolved first and EVERY address is checked; the fetch itself resolves again, so a
 * DNS-rebinding attacker with a TTL-0 record could still race this check. Closing that needs a custom
 * connect hook (undici Agent), which this function deliberately does not load; the residual risk is
 * bounded by redirects never being followed and by Lambda having no IMDS.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export type HostLookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const forbidden = new BlockList();
forbidden.addSubnet('169.254.0.0', 16, 'ipv4');
forbidden.addSubnet('0.0.0.0', 8, 'ipv4');
forbidden.addSubnet('224.0.0.0', 4, 'ipv4');
forbidden.addAddress('255.255.255.255', 'ipv4');
forbidden.addSubnet('fe80::', 10, 'ipv6');
forbidden.addAddress('fd00:ec2::254', 'ipv6');
forbidden.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6');
forbidden.addAddress('::', 'ipv6');
forbidden.addSubnet('ff00::', 8, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** 'forbidden' | 'loopback' | 'ok' for one IP literal. IPv4-mapped IPv6 is checked as IPv4. */
export function classifyAddress(address: string): 'forbidden' | 'loopback' | 'ok' {
  const family = isIP(address);
  if (family === 0) return 'forbidden';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const mapped = type === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  if (mapped) return classifyAddress(mapped);
  if (forbidden.check(address, type)) return 'forbidden';
  if (loopback.check(address, type)) return 'loopback';
  return 'ok';
}

/** Check a notify URL (and, for host names, every address it resolves to) before each POST. */
export async function checkNotifyUrl(
  raw: string,
  options: { allowLoopback?: boolean; lookup?: HostLookup } = {},
): Promise<UrlVerdict> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `scheme ${url.protocol} is not allowed (http or https only)` };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not contain credentials (user:password@)' };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const judge = (address: string): UrlVerdict | undefined => {
    const kind = classifyAddress(address);
    if (kind === 'forbidden') return { ok: false, reason: 'points to a link-local, metadata or otherwise forbidden address' };
    if (kind === 'loopback' && !options.allowLoopback) return { ok: false, reason: 'points to a loopback address (allowed on the local stage only)' };
    return undefined;
  };
  if (isIP(host) !== 0) return judge(host) ?? { ok: true, url };
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) {
    return options.allowLoopback ? { ok: true, url } : { ok: false, reason: 'points to a loopback address (allowed on the local stage only)' };
  }
  const addresses = await (options.lookup ?? systemLookup)(name);
  if (addresses.length === 0) throw new Error(`no address for ${name}`);
  for (const a of addresses) {
    const verdict = judge(a.address);
    if (verdict) return verdict;
  }
  return { ok: true, url };
}
