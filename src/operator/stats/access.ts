/**
 * Who may read the operator pages (/stats, /metrics): the --stats-allow rule.
 *
 * config.statsAllow lists the addresses that may read them (empty = everyone, as in sc6). The
 * address is the socket's, never a proxy header: the header is client-controlled unless a proxy
 * sets it, and the stats pages should not trust it. Addresses are compared in canonical form, so
 * "::ffff:127.0.0.1" (an IPv4 client of a dual-stack socket) matches "127.0.0.1", and "0:0::1"
 * matches "::1". Refused clients get 403 (counter http403; see routes.ts).
 */
import { formatAddress, parseAddress } from "../../protocol/compact.ts";

const addressScratch = new Uint8Array(16);

/**
 * An address in one canonical text form, or null if it is not an IP literal: IPv4-mapped IPv6
 * becomes dotted IPv4, IPv6 is RFC 5952 text (lower case, longest zero run as "::"), a zone is
 * dropped.
 */
export function canonicalAddress(ip: string): string | null {
  const family = parseAddress(ip, addressScratch, 0);
  if (family === 0) return null;
  return formatAddress(addressScratch, 0, family);
}

/** Who may read the stats pages: everyone when the list is empty. */
export function statsAccess(allow: readonly string[]): (clientIp: string) => boolean {
  if (allow.length === 0) return () => true;
  const allowed = new Set<string>();
  for (const a of allow) {
    const c = canonicalAddress(a);
    if (c !== null) allowed.add(c);
  }
  return (clientIp) => {
    const c = canonicalAddress(clientIp);
    return c !== null && allowed.has(c);
  };
}
