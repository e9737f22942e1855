/**
 * --log-requests: one line per request on stdout, for an operator debugging a client:
 *
 *   2026-12-03T13:10:00.123Z 192.0.2.7 http announce 0123...cdef ok: 3 peers (1 seeders, 2 leechers)
 *   2026-12-03T13:10:00.130Z 192.0.2.7 udp scrape 2 hashes refused: too many info_hash values ...
 *
 * Off by default, and cheap when off: an adapter reads `config.logRequests` once per request
 * and makes a note only when it is on (the info_hash is formatted then, before any await: the
 * adapters reuse its buffer). The result is taken when the answer is known.
 */

export type Protocol = "http" | "udp" | "ws";

/** Writes the line (rules.log: stdout unless a test catches it). */
export type LineSink = (line: string) => void;

/** The 20 bytes at bytes[off ..] as 40 lowercase hex digits. */
export function hex20(bytes: Uint8Array, off: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + off, 20).toString("hex");
}

/** A 20-character binary string (WebTorrent's info_hash) as 40 hex digits. */
export function hexOfBinary(s: string): string {
  return Buffer.from(s, "latin1").toString("hex");
}

/**
 * A note for one request: call it with the result once known. `what` is the info_hash in hex,
 * or a count of hashes, or "".
 */
export function requestNote(sink: LineSink, protocol: Protocol, address: string, action: string, what: string): (result: string) => void {
  return (result) => sink(`${new Date().toISOString()} ${address} ${protocol} ${action}${what === "" ? "" : " " + what} ${result}`);
}

/** An announce's result as the line says it. */
export function announceOutcome(res: {
  refusal: string | null; complete: number; incomplete: number; peers4: { count: number }; peers6: { count: number };
}): string {
  if (res.refusal !== null) return `refused: ${res.refusal}`;
  return `ok: ${res.peers4.count + res.peers6.count} peers (${res.complete} seeders, ${res.incomplete} leechers)`;
}

/** A scrape's result as the line says it. */
export function scrapeOutcome(res: { refusal: string | null; count: number; refused: number }): string {
  if (res.refusal !== null) return `refused: ${res.refusal}`;
  return `ok: ${res.count - res.refused} torrents`;
}
