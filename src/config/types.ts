/**
 * The tracker's settings. Every field is settable by flag, environment variable and TOML key
 * (see config.ts, which owns parsing, validation and the documented defaults).
 */
export interface Config {
  /** TCP (HTTP) and UDP port. 0 picks a free port (tests). */
  port: number;
  /** Address to bind. "::" = all interfaces, dual-stack. */
  host: string;
  /** Serve BEP 15 UDP on the same port. */
  udp: boolean;
  /** Serve HTTP on the port. */
  http: boolean;
  /** The starting announce interval, seconds (sc6's second positional argument). */
  interval: number;
  /** Lower and upper bounds of the load-driven interval, seconds. */
  intervalMin: number;
  intervalMax: number;
  /** The interval step rule runs this often, seconds (sc6: 15 minutes). */
  intervalStepPeriod: number;
  /** How much the interval moves per step, seconds. */
  intervalStep: number;
  /** Allowed 15-minute load average; above it the interval grows. */
  maxLoad: number;
  /** Peers not seen for this long are swept, seconds. */
  peerTimeout: number;
  /** An empty torrent keeps its `downloaded` count this long, seconds. */
  torrentRetention: number;
  /** numwant when the client gives none, and the cap on what it may ask. */
  numwantDefault: number;
  numwantMax: number;
  /** The most info_hashes one scrape may ask for (HTTP and UDP). */
  scrapeMaxHashes: number;
  /**
   * Keep each peer's 20-byte peer_id, for `compact=0` answers. Off saves 20 of the 33 bytes an
   * IPv4 peer costs; `compact=0` answers then leave `peer id` out, as `no_peer_id=1` does.
   */
  peerIds: boolean;
  /** Capacity limits: announces that would exceed them get a failure reason. */
  maxTorrents: number;
  maxPeers: number;
  /** Full scrape (`/scrape` with no info_hash); off as in sc6. */
  fullScrape: boolean;
  /** A rendered full scrape is reused for this long, seconds. */
  fullScrapeCache: number;
  /** Silence the periodic terminal line. */
  quiet: boolean;
  /** Addresses allowed to read /stats and /metrics; empty = everyone (as in sc6). */
  statsAllow: string[];
  /** Secret for UDP connection ids (hex or text); empty = random per process. */
  udpSecret: string;
  /** HTTP keep-alive idle timeout, seconds (1..255). */
  httpIdleTimeout: number;
  /**
   * Header holding the client address when behind a trusted reverse proxy
   * (e.g. "x-forwarded-for"); empty = use the socket address (the default, and the safe one).
   */
  trustProxyHeader: string;
}
