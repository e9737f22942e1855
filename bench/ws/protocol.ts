/**
 * What the WebSocket benches share: the loopback check, deterministic "binary string" ids
 * (20 characters, one per byte, as the WebTorrent tracker protocol carries info_hash, peer_id
 * and offer_id), realistic SDP offers and answers, and the request texts.
 *
 * The texts are built by concatenation from pre-serialized pieces so that the load generator
 * spends its CPU on sockets, not on JSON.stringify of 4 KB objects.
 */

/** A small deterministic PRNG (mulberry32): same seed, same ids, same SDPs, every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` random bytes as a binary string (codes 0-255): what bittorrent-tracker's hex2bin gives. */
export function binaryString(rand: () => number, n: number, prefix = ""): string {
  let s = prefix;
  while (s.length < n) s += String.fromCharCode(Math.floor(rand() * 256));
  return s;
}

/** A WebTorrent-style peer_id: "-WW0208-" then 12 random bytes. */
export function peerIdFor(rand: () => number): string {
  return binaryString(rand, 20, "-WW0208-");
}

export function toHex(binary: string): string {
  let s = "";
  for (let i = 0; i < binary.length; i++) s += binary.charCodeAt(i).toString(16).padStart(2, "0");
  return s;
}

/** The info_hash of swarm `i` (0-based) of a run: deterministic, 20 random bytes. */
export function swarmInfoHashes(count: number, seed = 0x5eed): string[] {
  const rand = prng(seed);
  return Array.from({ length: count }, () => binaryString(rand, 20));
}

function hexDigits(rand: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

function iceChars(rand: () => number, n: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

function fingerprint(rand: () => number): string {
  const bytes: string[] = [];
  for (let i = 0; i < 32; i++) bytes.push(hexDigits(rand, 2).toUpperCase());
  return bytes.join(":");
}

function digits(rand: () => number, n: number): string {
  let s = String(1 + Math.floor(rand() * 9));
  for (let i = 1; i < n; i++) s += Math.floor(rand() * 10);
  return s;
}

/**
 * An SDP as Chrome writes it for a data-channel-only peer connection with the candidates
 * gathered (simple-peer with trickle off, as WebTorrent's tracker client uses it): ~720 bytes
 * for an offer (host + server-reflexive candidates), ~600 for an answer (host only). Random session id, ICE credentials, fingerprint and candidates.
 */
export function makeSdp(rand: () => number, type: "offer" | "answer"): string {
  const port = () => 40000 + Math.floor(rand() * 20000);
  const lan = `192.168.${Math.floor(rand() * 255)}.${1 + Math.floor(rand() * 254)}`;
  const wan = `198.51.100.${1 + Math.floor(rand() * 254)}`;
  const mdns = `${hexDigits(rand, 8)}-${hexDigits(rand, 4)}-${hexDigits(rand, 4)}-${hexDigits(rand, 4)}-${hexDigits(rand, 12)}.local`;
  const lines = [
    "v=0",
    `o=- ${digits(rand, 19)} 2 IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=extmap-allow-mixed",
    "a=msid-semantic: WMS",
    `m=application ${port()} UDP/DTLS/SCTP webrtc-datachannel`,
    `c=IN IP4 ${wan}`,
    `a=candidate:${digits(rand, 10)} 1 udp 2113937151 ${mdns} ${port()} typ host generation 0 network-cost 999`,
    ...(type === "offer"
      ? [`a=candidate:${digits(rand, 9)} 1 udp 1677729535 ${wan} ${port()} typ srflx raddr ${lan} rport ${port()} generation 0 network-cost 999`]
      : []),
    `a=ice-ufrag:${iceChars(rand, 4)}`,
    `a=ice-pwd:${iceChars(rand, 24)}`,
    "a=ice-options:trickle",
    `a=fingerprint:sha-256 ${fingerprint(rand)}`,
    `a=setup:${type === "offer" ? "actpass" : "active"}`,
    "a=mid:0",
    "a=sctp-port:5000",
    "a=max-message-size:262144",
  ];
  return lines.join("\r\n") + "\r\n";
}

/**
 * A pool of pre-serialized offer objects, `{"type":"offer","sdp":...}`. Real clients make a
 * fresh SDP per slot per announce; cycling through a pool keeps the bytes realistic without the
 * CPU. The offer_id must still be fresh for every offer (see `offerEntry`): a tracker that checks
 * answers against the offers it relayed keys them by offer_id.
 */
export function offerPool(size: number, seed: number): string[] {
  const rand = prng(seed);
  return Array.from({ length: size }, () => JSON.stringify({ type: "offer", sdp: makeSdp(rand, "offer") }));
}

/** One element of `offers`: `{"offer":<offerJson>,"offer_id":<fresh 20-byte binary string>}`. */
export function offerEntry(offerJson: string, offerId: string): string {
  return `{"offer":${offerJson},"offer_id":${JSON.stringify(offerId)}}`;
}

/** Pre-serialized answer objects, `{"type":"answer","sdp":...}`. */
export function answerPool(size: number, seed: number): string[] {
  const rand = prng(seed);
  return Array.from({ length: size }, () => JSON.stringify({ type: "answer", sdp: makeSdp(rand, "answer") }));
}

/** The fixed head of one peer's announces: `{"action":"announce","info_hash":..,"peer_id":..`. */
export function announceHead(infoHash: string, peerId: string): string {
  return `{"action":"announce","info_hash":${JSON.stringify(infoHash)},"peer_id":${JSON.stringify(peerId)}`;
}

/**
 * One announce as the npm client sends it: uploaded, downloaded, left, event (first one only),
 * numwant = number of offers, offers.
 */
export function announceText(head: string, left: number, event: string | null, offers: string[]): string {
  let s = `${head},"uploaded":0,"downloaded":0,"left":${left}`;
  if (event !== null) s += `,"event":"${event}"`;
  s += `,"numwant":${offers.length},"offers":[${offers.join(",")}]}`;
  return s;
}

/** The answer to a relayed offer, as the npm client sends it. */
export function answerText(head: string, toPeerIdJson: string, answerJson: string, offerIdJson: string): string {
  return `${head},"to_peer_id":${toPeerIdJson},"answer":${answerJson},"offer_id":${offerIdJson}}`;
}

export function scrapeText(infoHashes: string[]): string {
  return JSON.stringify({ action: "scrape", info_hash: infoHashes.length === 1 ? infoHashes[0] : infoHashes });
}

/**
 * Refuses anything but loopback: 127.0.0.0/8, localhost, ::1. ws:// only, unless `allowWss`
 * (load.ts, on Bun's WebSocket client, speaks wss:// too; hold.ts's own client does not).
 */
export function assertLoopbackUrl(target: string, allowWss = false): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new Error(`--target: not a URL: ${target}`);
  }
  if (!(url.protocol === "ws:" || (allowWss && url.protocol === "wss:"))) {
    throw new Error(`--target: only ${allowWss ? "ws:// and wss:// are" : "ws:// is"} supported, got ${url.protocol}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!(host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))) {
    throw new Error(`--target: loopback only (127.0.0.0/8, localhost, [::1]), got ${host}`);
  }
  if (!url.port) throw new Error(`--target: give the port, ${url.protocol}//127.0.0.1:PORT`);
  return url;
}

/** Parses `--name value` / `--flag` arguments against defaults (numbers, strings, booleans). */
export function parseArgs<T extends Record<string, number | string | boolean>>(argv: string[], defaults: T, usage: string): T {
  const out: Record<string, number | string | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      process.exit(0);
    }
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}\n${usage}`);
    const name = arg.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(name in defaults)) throw new Error(`unknown option ${arg}\n${usage}`);
    const kind = typeof defaults[name];
    if (kind === "boolean") {
      out[name] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (kind === "number") {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`${arg}: not a number: ${value}`);
      out[name] = n;
    } else out[name] = value;
  }
  return out as T;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
