/**
 * The tracker's counters: one Float64Array (exact integers up to 2^53), indexed by the constants
 * below. The rules and the servers bump them on the hot path (`counters[C.httpAnnounces]++` costs one store);
 * /stats and /metrics read them. Add a counter by adding a name to COUNTER_NAMES.
 */
export const COUNTER_NAMES = [
  "httpRequests",
  "http200",
  "http400",
  "http403",
  "http404",
  "http405",
  "http500",
  /** Full scrapes refused because --full-scrape-max-concurrent were already being sent. */
  "http503",
  "httpBytesIn",
  "httpBytesOut",
  "httpAnnounces",
  "httpScrapes",
  "httpFullScrapes",
  "httpFailures",
  "udpPacketsIn",
  "udpBytesIn",
  "udpBytesOut",
  "udpConnects",
  "udpAnnounces",
  "udpScrapes",
  "udpErrorsSent",
  "udpDropped",
  "udpBadConnectionId",
  "udpSendErrors",
  "udpIcmpErrors",
  /** Full scrape bodies actually rendered (the rest were served from the cache). */
  "httpFullScrapeRenders",
  /** Refusals by the rules (src/rules/tracker-rules.ts), every protocol together, by reason. */
  "refusedTorrentCapacity",
  "refusedPeerCapacity",
  "refusedScrapeHashes",
  "refusedFullScrape",
  /** Refused or dropped for the per-address limits: announces, UDP connects, UDP bad-id answers. */
  "refusedAnnounceRate",
  /** Refused by the access list (announces, and each refused torrent of a scrape). */
  "refusedTorrentNotAllowed",
  /** Refused because a remote store (Redis) could not answer: announces and scrapes. */
  "refusedStoreUnavailable",
  /** Private mode: requests without a passkey in force (missing, unknown, revoked, expired). */
  "refusedPasskey",
  "udpConnectsThrottled",
  "udpBadIdThrottled",
  /** Times the HTTP listener stopped accepting for lack of file descriptors (server/http-listener.ts). */
  "httpAcceptPauses",
  /** WebSocket (WebTorrent): connections, messages, what was relayed, what was refused or dropped. */
  "wsConnections",
  "wsConnectionsClosed",
  "wsConnectionsRefused",
  "wsMessagesIn",
  "wsBytesIn",
  "wsBytesOut",
  "wsAnnounces",
  "wsScrapes",
  "wsOffersRelayed",
  /** Offers and answers handed to another node for a peer connected there (shared store). */
  "wsRelayedToNodes",
  "wsAnswersRelayed",
  "wsAnswersRefused",
  "wsFailures",
  "wsBadMessages",
  "wsClosedRate",
  "wsClosedTooBig",
  "wsClosedBackpressure",
  /** `completed` events served but not counted: past completionsPerAddress for their address. */
  "completionsNotCounted",
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];

/** Counter indexes by name: C.httpAnnounces === 9 etc. */
export const C = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as { readonly [K in CounterName]: number };

export function newCounters(): Float64Array {
  return new Float64Array(COUNTER_NAMES.length);
}
