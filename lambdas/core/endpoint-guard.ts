import ipaddr from 'ipaddr.js';
import type { EndpointPolicy } from './config';
import { EndpointBlockedError } from './errors';

/**
 * SSRF guard (docs/architecture.md §4). Pure: the HTTP adapter resolves the host and asks
 * `checkAddress` about every address before it connects to one of them.
 */

/** ipaddr.js range names that are public, routable unicast. Everything else is refused. */
const PUBLIC_RANGES = new Set(['unicast']);
/**
 * What a stack that allows private endpoints may also reach: its own networks and loopback
 * (the local runtime's receivers). Link-local (the cloud metadata services), unspecified,
 * multicast, broadcast and reserved addresses stay refused whatever the configuration.
 */
const PRIVATE_RANGES = new Set(['private', 'loopback', 'uniqueLocal', 'carrierGradeNat']);
/** AWS's instance services over IPv6 (metadata fd00:ec2::254, DNS, time sync): unique-local, never a webhook. */
const AWS_INSTANCE_SERVICES = ipaddr.parseCIDR('fd00:ec2::/32');

/**
 * A small memo of a pure function of a string: a warm delivery instance checks and redacts the
 * same few subscription URLs for every job (checking a host name costs ~20 µs). Bounded: emptied
 * when full.
 */
function memo<T>(max = 1_000): (key: string, compute: () => T) => T {
  const cache = new Map<string, T>();
  return (key, compute) => {
    let value = cache.get(key);
    if (value === undefined) {
      if (cache.size >= max) cache.clear();
      value = compute();
      cache.set(key, value);
    }
    return value;
  };
}

const verdicts = memo<{ readonly blocked?: string }>();

/** Validates a subscription URL before any DNS lookup; returns the parsed URL. */
export function checkUrl(raw: string, policy: EndpointPolicy): URL {
  const verdict = verdicts(`${policy.allowPrivate ? 'p' : '-'}${policy.allowHttp ? 'h' : '-'}${raw}`, () => {
    try {
      checkUrlUncached(raw, policy);
      return {};
    } catch (error) {
      if (error instanceof EndpointBlockedError) return { blocked: error.message };
      throw error;
    }
  });
  if (verdict.blocked !== undefined) throw new EndpointBlockedError(verdict.blocked);
  return new URL(raw);
}

function checkUrlUncached(raw: string, policy: EndpointPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not echoed: an unparseable URL cannot be masked, and it may hold a token.
    throw new EndpointBlockedError(`not a valid URL: an absolute URL with its scheme is expected, such as ${policy.allowHttp ? 'http://127.0.0.1:9000/hook or ' : ''}https://hooks.example.com/statushooks`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    const allowed = policy.allowHttp ? 'https or http' : 'https';
    throw new EndpointBlockedError(`scheme "${url.protocol.replace(/:$/, '')}" is not allowed (only ${allowed})`);
  }
  if (url.username || url.password) {
    throw new EndpointBlockedError('credentials in the URL are not allowed; use the signature to authenticate');
  }
  const host = hostOf(url);
  if (host === '') throw new EndpointBlockedError('the URL has no host');
  if (ipaddr.isValid(host)) checkAddress(host, policy);
  else if (!policy.allowPrivate && isLocalName(host)) {
    throw new EndpointBlockedError(`host "${host}" is a local name`);
  }
  return url;
}

/** The host of a URL without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Refuses an address that is not public unicast, unless the policy allows private targets. */
export function checkAddress(address: string, policy: EndpointPolicy): void {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/%.*$/, ''));
  } catch {
    throw new EndpointBlockedError(`"${address}" is not an IP address`);
  }
  // ::ffff:10.0.0.1 (IPv4-mapped) and ::10.0.0.1 (the deprecated IPv4-compatible form) reach
  // the IPv4 host: judge the IPv4 address.
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const compatible = v6.parts.slice(0, 6).every((p) => p === 0) && (v6.parts[6] !== 0 || v6.parts[7]! > 1);
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
    else if (compatible) parsed = ipaddr.fromByteArray(v6.toByteArray().slice(12));
  }
  const range = parsed.range();
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).match(AWS_INSTANCE_SERVICES)) {
    throw new EndpointBlockedError(`address ${address} is an AWS instance service (metadata, DNS or time)`);
  }
  if (PUBLIC_RANGES.has(range)) return;
  if (policy.allowPrivate && PRIVATE_RANGES.has(range)) return;
  throw new EndpointBlockedError(`address ${address} is not public (${range})`);
}

function isLocalName(host: string): boolean {
  // "localhost.", "localhost.." and "x.internal..." name the same hosts as without the dots.
  const h = host.toLowerCase().replace(/\.+$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.internal') || h.endsWith('.local') || !h.includes('.');
}

const redacted = memo<string>();

/**
 * A URL fit for logs, DLQ reasons, metrics and the CLI's output: scheme, host, port and the path
 * with every secret-looking segment masked; never credentials, query or fragment. Receivers often
 * authenticate with a token in the path (Slack `/services/T…/B…/XXXX`, Discord
 * `/api/webhooks/<id>/<token>`, Zapier `/hooks/catch/<id>/<key>/`), so the path is not safe as is.
 */
export function redactUrl(raw: string): string {
  return redacted(raw, () => redactUrlUncached(raw));
}

function redactUrlUncached(raw: string): string {
  try {
    const url = new URL(raw);
    const path = url.pathname.split('/').map((segment) => (looksSecret(segment) ? MASK : segment)).join('/');
    return `${url.protocol}//${url.host}${path}${url.search ? '?…' : ''}`;
  } catch {
    return '(unparseable URL)';
  }
}

const MASK = '…';

/**
 * Whether a path segment may be a credential. Readable path words stay (`webhooks`,
 * `return-events`, `v2`, `123`); masked are segments that mix letters and digits from 6
 * characters on (tokens, UUIDs, hex, Slack ids), long runs that are not lower-case words joined by
 * `-`, `_` or `.` (base64url, upper-case tokens, JWTs), and long numbers (10 digits and more).
 */
export function looksSecret(segment: string): boolean {
  let s = segment;
  try {
    s = decodeURIComponent(segment);
  } catch {
    // keep it encoded
  }
  if (s.length === 0 || /^v\d+(\.\d+)*$/i.test(s)) return false;
  if (s.length >= 6 && /\d/.test(s) && /[a-z]/i.test(s)) return true;
  if (/^\d{10,}$/.test(s)) return true;
  return s.length >= 16 && !/^[a-z]+([-_.][a-z]+)*$/.test(s);
}
