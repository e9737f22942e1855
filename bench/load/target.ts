/**
 * The load's target address. Loopback ONLY: this generator sends tens of thousands of
 * packets per second and must never be pointed at another machine. Anything outside
 * 127.0.0.0/8 and ::1 is refused before a socket is opened; no name is resolved except
 * "localhost", which is taken as 127.0.0.1.
 */
export interface Target {
  /** The literal address sockets connect to: "127.x.y.z" or "::1". */
  host: string;
  port: number;
  ipv6: boolean;
}

export type TargetResult = { ok: true; target: Target } | { ok: false; error: string };

/** True for 127.0.0.0/8 in dotted-quad form and for ::1 (in its usual spellings). */
export function isLoopbackAddress(host: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    return octets.every((o) => o <= 255) && octets[0] === 127;
  }
  const h = host.toLowerCase();
  return h === "::1" || h === "0:0:0:0:0:0:0:1" || h === "0000:0000:0000:0000:0000:0000:0000:0001";
}

/** Parses "host:port" or "[v6]:port"; refuses non-loopback hosts and bad ports. */
export function parseTarget(text: string): TargetResult {
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon <= 0) return { ok: false, error: `target must be host:port, got "${text}"` };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (host === "localhost") host = "127.0.0.1";
  if (!/^\d+$/.test(portText)) return { ok: false, error: `bad port in "${text}"` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { ok: false, error: `port out of range in "${text}"` };
  if (!isLoopbackAddress(host)) {
    return { ok: false, error: `refusing non-loopback target "${host}": only 127.0.0.0/8 and ::1 are allowed` };
  }
  const ipv6 = host.includes(":");
  return { ok: true, target: { host: ipv6 ? "::1" : host, port, ipv6 } };
}
