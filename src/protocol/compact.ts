/**
 * The compact peer record shared by HTTP (BEP 23 / BEP 7) and UDP (BEP 15) answers:
 *
 *   IPv4:  6 bytes = 4 address bytes + 2 port bytes, network (big-endian) order
 *   IPv6: 18 bytes = 16 address bytes + 2 port bytes
 *
 * The swarm keeps peers in exactly this form, so an answer is a copy of a window of records.
 * parseAddress turns the socket address text Bun hands us into the address bytes; writePort
 * appends the port; formatAddress goes back to text for `compact=0` answers only.
 */

/**
 * Scratch for parsing. Module-level so a parse allocates nothing; parsing is synchronous so
 * sharing it is safe. `out` is only written once an address has parsed completely.
 */
const scratch = new Uint8Array(16);

/**
 * Parses dotted-quad IPv4 text s[start..end) into dst[d..d+4). Strict like inet_pton: exactly
 * four decimal parts 0..255, no leading zeros ("01" is refused: some parsers read it as octal),
 * nothing else. Returns false on anything else (dst may then hold partial bytes).
 */
function parseIPv4Into(s: string, start: number, end: number, dst: Uint8Array, d: number): boolean {
  let i = start;
  for (let part = 0; part < 4; part++) {
    const first = i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
      if (i - first > 3) return false;
    }
    const digits = i - first;
    if (digits === 0 || v > 255) return false;
    if (digits > 1 && s.charCodeAt(first) === 48) return false;
    dst[d + part] = v;
    if (part < 3) {
      if (i >= end || s.charCodeAt(i) !== 46 /* . */) return false;
      i++;
    }
  }
  return i === end;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses IPv6 text s[0..end) (zone already cut off) into scratch[0..16). Accepts RFC 4291
 * text: up to eight groups of 1-4 hex digits, at most one "::" standing for one or more zero
 * groups, and an optional dotted IPv4 tail in the last 32 bits ("::ffff:1.2.3.4").
 */
function parseIPv6IntoScratch(s: string, end: number): boolean {
  if (end === 0) return false;
  let i = 0;
  let g = 0; // bytes written to scratch
  let gap = -1; // byte position of the "::", if any
  if (s.charCodeAt(0) === 58 /* : */) {
    if (end < 2 || s.charCodeAt(1) !== 58) return false; // a lone leading ':'
    gap = 0;
    i = 2;
  }
  if (i < end) {
    for (;;) {
      const groupStart = i;
      let v = 0;
      while (i < end) {
        const h = hexDigit(s.charCodeAt(i));
        if (h < 0) break;
        v = (v << 4) | h;
        i++;
        if (i - groupStart > 4) return false;
      }
      if (i < end && s.charCodeAt(i) === 46 /* . */) {
        // The group was really the first part of a dotted IPv4 tail; it must end the text.
        if (g > 12 || !parseIPv4Into(s, groupStart, end, scratch, g)) return false;
        g += 4;
        break;
      }
      if (i === groupStart || g >= 16) return false;
      scratch[g++] = v >>> 8;
      scratch[g++] = v & 0xff;
      if (i === end) break;
      if (s.charCodeAt(i) !== 58) return false;
      i++;
      if (i < end && s.charCodeAt(i) === 58) {
        if (gap >= 0) return false; // a second "::"
        gap = g;
        i++;
        if (i === end) break; // trailing "::"
      } else if (i === end) {
        return false; // a lone trailing ':'
      }
    }
  }
  if (gap < 0) return g === 16;
  if (g === 16) return false; // "::" must stand for at least one zero group
  // Move the groups after "::" to the end and zero the hole.
  const tail = g - gap;
  scratch.copyWithin(16 - tail, gap, g);
  scratch.fill(0, gap, 16 - tail);
  return true;
}

/**
 * Parses a socket address as Bun gives it ("1.2.3.4", "::1", "::ffff:1.2.3.4",
 * "fe80::1%eth0", "2001:db8::1") into out[off..]:
 *   - returns 4 and writes 4 bytes for IPv4, and for IPv4-mapped IPv6 (::ffff:0:0/96, what a
 *     dual-stack socket reports for an IPv4 client), so those peers join the IPv4 swarm;
 *   - returns 6 and writes 16 bytes for any other IPv6 address (a "%zone" suffix is dropped);
 *   - returns 0 and writes nothing if the text is not an address.
 * Allocation-free, never throws.
 */
export function parseAddress(addr: string, out: Uint8Array, off: number): 0 | 4 | 6 {
  if (typeof addr !== "string") return 0;
  let end = addr.length;
  if (addr.indexOf(":") < 0) {
    if (!parseIPv4Into(addr, 0, end, scratch, 0)) return 0;
    out[off] = scratch[0]!;
    out[off + 1] = scratch[1]!;
    out[off + 2] = scratch[2]!;
    out[off + 3] = scratch[3]!;
    return 4;
  }
  const pct = addr.indexOf("%");
  if (pct >= 0) {
    if (pct === end - 1) return 0; // empty zone
    end = pct;
  }
  if (!parseIPv6IntoScratch(addr, end)) return 0;
  let mapped = scratch[10] === 0xff && scratch[11] === 0xff;
  for (let k = 0; mapped && k < 10; k++) if (scratch[k] !== 0) mapped = false;
  if (mapped) {
    out[off] = scratch[12]!;
    out[off + 1] = scratch[13]!;
    out[off + 2] = scratch[14]!;
    out[off + 3] = scratch[15]!;
    return 4;
  }
  for (let k = 0; k < 16; k++) out[off + k] = scratch[k]!;
  return 6;
}

/** Writes port as a big-endian u16 at out[off..off+2). */
export function writePort(out: Uint8Array, off: number, port: number): void {
  out[off] = (port >>> 8) & 0xff;
  out[off + 1] = port & 0xff;
}

/**
 * Address bytes back to text: "1.2.3.4" for family 4 (rec[off..off+4)); RFC 5952 text for
 * family 6 (rec[off..off+16)): lower-case hex, no leading zeros, the longest run of two or
 * more zero groups (the first on a tie) as "::", and IPv4-mapped addresses as
 * "::ffff:1.2.3.4" (RFC 5952 section 5). Allocates a string: used for compact=0 answers only.
 */
export function formatAddress(rec: Uint8Array, off: number, family: 4 | 6): string {
  if (family === 4) {
    return `${rec[off]}.${rec[off + 1]}.${rec[off + 2]}.${rec[off + 3]}`;
  }
  let mapped = rec[off + 10] === 0xff && rec[off + 11] === 0xff;
  for (let k = 0; mapped && k < 10; k++) if (rec[off + k] !== 0) mapped = false;
  if (mapped) {
    return `::ffff:${rec[off + 12]}.${rec[off + 13]}.${rec[off + 14]}.${rec[off + 15]}`;
  }
  // Longest run of zero groups (length >= 2; RFC 5952 4.2.2: never "::" for a single group).
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let grp = 0; grp <= 8; grp++) {
    const zero = grp < 8 && rec[off + 2 * grp] === 0 && rec[off + 2 * grp + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = grp;
    } else if (runStart >= 0) {
      if (grp - runStart > bestLen) {
        bestStart = runStart;
        bestLen = grp - runStart;
      }
      runStart = -1;
    }
  }
  let text = "";
  for (let grp = 0; grp < 8; grp++) {
    if (grp === bestStart) {
      text += "::";
      grp += bestLen - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(":")) text += ":";
    text += (((rec[off + 2 * grp]! << 8) | rec[off + 2 * grp + 1]!) >>> 0).toString(16);
  }
  return text;
}
