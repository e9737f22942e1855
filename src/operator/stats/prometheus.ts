/**
 * /metrics: the snapshot as Prometheus text exposition format 0.0.4. metricFamilies() turns a
 * snapshot into families (every counter, through the counter -> metric table below, then the
 * gauges); renderMetrics() writes them out.
 */
import type { CounterName } from "../../rules/counters.ts";
import type { StatsSnapshot } from "./collect.ts";

/** The content type Prometheus expects for the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricFamily {
  /** tracker_*, counters end in _total. */
  name: string;
  type: "counter" | "gauge";
  help: string;
  /** [label text without braces ("" for none), value]. */
  samples: [labels: string, value: number][];
}

/** How each counter is exported: one family may hold several counters told apart by labels. */
const COUNTER_METRICS: Partial<Record<CounterName, { name: string; labels: string; help: string }>> = {
  httpRequests: { name: "tracker_requests_total", labels: 'protocol="http"', help: "Requests received: HTTP requests and UDP datagrams." },
  udpPacketsIn: { name: "tracker_requests_total", labels: 'protocol="udp"', help: "" },
  http200: { name: "tracker_http_responses_total", labels: 'code="200"', help: "HTTP answers by status code (bencoded failure reasons are sent as 200)." },
  http400: { name: "tracker_http_responses_total", labels: 'code="400"', help: "" },
  http403: { name: "tracker_http_responses_total", labels: 'code="403"', help: "" },
  http404: { name: "tracker_http_responses_total", labels: 'code="404"', help: "" },
  http405: { name: "tracker_http_responses_total", labels: 'code="405"', help: "" },
  http500: { name: "tracker_http_responses_total", labels: 'code="500"', help: "" },
  httpAcceptPauses: { name: "tracker_http_accept_pauses_total", labels: "", help: "Times the HTTP listener stopped accepting because the process was out of file descriptors." },
  http503: { name: "tracker_http_responses_total", labels: 'code="503"', help: "" },
  httpBytesIn: { name: "tracker_received_bytes_total", labels: 'protocol="http"', help: "Bytes received (HTTP: request URL characters; UDP: datagram payloads)." },
  udpBytesIn: { name: "tracker_received_bytes_total", labels: 'protocol="udp"', help: "" },
  httpBytesOut: { name: "tracker_sent_bytes_total", labels: 'protocol="http"', help: "Bytes sent (HTTP: answer bodies; UDP: datagram payloads)." },
  udpBytesOut: { name: "tracker_sent_bytes_total", labels: 'protocol="udp"', help: "" },
  httpAnnounces: { name: "tracker_announces_total", labels: 'protocol="http"', help: "Announce requests." },
  udpAnnounces: { name: "tracker_announces_total", labels: 'protocol="udp"', help: "" },
  httpScrapes: { name: "tracker_scrapes_total", labels: 'protocol="http"', help: "Scrape requests (HTTP: full scrapes included)." },
  udpScrapes: { name: "tracker_scrapes_total", labels: 'protocol="udp"', help: "" },
  udpConnects: { name: "tracker_connects_total", labels: 'protocol="udp"', help: "BEP 15 connect requests." },
  httpFullScrapes: { name: "tracker_full_scrapes_total", labels: "", help: "Full scrapes (/scrape without info_hash) answered." },
  httpFullScrapeRenders: { name: "tracker_full_scrape_renders_total", labels: "", help: "Full scrape bodies rendered (the rest came from the cache)." },
  httpFailures: { name: "tracker_http_failures_total", labels: "", help: "HTTP answers carrying a bencoded failure reason." },
  udpErrorsSent: { name: "tracker_udp_errors_sent_total", labels: "", help: "BEP 15 error packets sent." },
  udpBadConnectionId: { name: "tracker_udp_bad_connection_id_total", labels: "", help: "UDP requests with a wrong or expired connection id." },
  udpDropped: { name: "tracker_udp_dropped_total", labels: "", help: "UDP datagrams dropped without an answer (junk)." },
  udpSendErrors: { name: "tracker_udp_send_errors_total", labels: "", help: "UDP answers that could not be sent." },
  udpIcmpErrors: { name: "tracker_udp_icmp_errors_total", labels: "", help: "ICMP errors (e.g. port unreachable) reported on the UDP socket." },
  refusedTorrentCapacity: { name: "tracker_refusals_total", labels: 'reason="torrent_capacity"', help: "Requests refused by the tracker's rules, every protocol together, by reason." },
  refusedPeerCapacity: { name: "tracker_refusals_total", labels: 'reason="peer_capacity"', help: "" },
  refusedScrapeHashes: { name: "tracker_refusals_total", labels: 'reason="scrape_hashes"', help: "" },
  refusedFullScrape: { name: "tracker_refusals_total", labels: 'reason="full_scrape_off"', help: "" },
  refusedAnnounceRate: { name: "tracker_refusals_total", labels: 'reason="announce_rate"', help: "" },
  refusedTorrentNotAllowed: { name: "tracker_refusals_total", labels: 'reason="torrent_not_allowed"', help: "" },
  refusedPasskey: { name: "tracker_refusals_total", labels: 'reason="passkey"', help: "" },
  refusedStoreUnavailable: { name: "tracker_refusals_total", labels: 'reason="store_unavailable"', help: "" },
  udpConnectsThrottled: { name: "tracker_udp_throttled_total", labels: 'what="connect"', help: "UDP packets dropped unanswered for the per-address limits." },
  udpBadIdThrottled: { name: "tracker_udp_throttled_total", labels: 'what="bad_connection_id"', help: "" },
  wsMessagesIn: { name: "tracker_requests_total", labels: 'protocol="ws"', help: "" },
  wsBytesIn: { name: "tracker_received_bytes_total", labels: 'protocol="ws"', help: "" },
  wsBytesOut: { name: "tracker_sent_bytes_total", labels: 'protocol="ws"', help: "" },
  wsAnnounces: { name: "tracker_announces_total", labels: 'protocol="ws"', help: "" },
  wsScrapes: { name: "tracker_scrapes_total", labels: 'protocol="ws"', help: "" },
  wsConnections: { name: "tracker_ws_connections_total", labels: 'what="opened"', help: "WebSocket connections opened, closed, and refused (wsMaxConnections)." },
  wsConnectionsClosed: { name: "tracker_ws_connections_total", labels: 'what="closed"', help: "" },
  wsConnectionsRefused: { name: "tracker_ws_connections_total", labels: 'what="refused"', help: "" },
  wsOffersRelayed: { name: "tracker_ws_relayed_total", labels: 'what="offer"', help: "WebRTC offers and answers relayed between WebSocket peers." },
  wsAnswersRelayed: { name: "tracker_ws_relayed_total", labels: 'what="answer"', help: "" },
  wsRelayedToNodes: { name: "tracker_ws_relayed_total", labels: 'what="to_other_node"', help: "" },
  wsClosedRate: { name: "tracker_ws_closed_total", labels: 'reason="message_rate"', help: "WebSocket connections closed by the tracker, by reason." },
  wsClosedTooBig: { name: "tracker_ws_closed_total", labels: 'reason="message_size"', help: "" },
  wsClosedBackpressure: { name: "tracker_ws_closed_total", labels: 'reason="backpressure"', help: "" },
};

/** httpFooBar -> http_foo_bar. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()).replace(/[^a-zA-Z0-9_]/g, "_");
}

/** The metric families, counters first. A counter without an entry above is exported as tracker_<snake>_total. */
export function metricFamilies(s: StatsSnapshot): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const add = (name: string, type: MetricFamily["type"], help: string, labels: string, value: number) => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type, help, samples: [] };
      families.set(name, f);
    } else if (f.help === "") f.help = help;
    f.samples.push([labels, value]);
  };
  for (const name of Object.keys(s.counters)) {
    const spec = COUNTER_METRICS[name as CounterName];
    const value = s.counters[name]!;
    if (spec) add(spec.name, "counter", spec.help, spec.labels, value);
    else add(`tracker_${snake(name)}_total`, "counter", `Counter ${name}.`, "", value);
  }
  const gauge = (name: string, help: string, value: number, labels = "") => add(name, "gauge", help, labels, value);
  gauge("tracker_start_time_seconds", "When the tracker started, Unix seconds.", s.startTimeSeconds);
  gauge("tracker_uptime_seconds", "Seconds since the tracker started.", s.uptimeSeconds);
  const load = "System load average (os.loadavg).";
  gauge("tracker_load_average", load, s.loadAverage[0], 'minutes="1"');
  gauge("tracker_load_average", load, s.loadAverage[1], 'minutes="5"');
  gauge("tracker_load_average", load, s.loadAverage[2], 'minutes="15"');
  gauge("tracker_announce_interval_seconds", "The announce interval handed to clients now.", s.intervalSeconds);
  if (s.loopStall !== null) {
    const help = "The longest time the event loop was held at once.";
    gauge("tracker_loop_longest_stall_seconds", help, s.loopStall.longestLastMinuteMs / 1000, 'period="last_minute"');
    gauge("tracker_loop_longest_stall_seconds", help, s.loopStall.longestSinceStartMs / 1000, 'period="since_start"');
  }
  if (s.openFiles !== null) gauge("tracker_open_files", "File descriptors open now (each HTTP connection takes one).", s.openFiles);
  if (s.openFilesLimit !== null && Number.isFinite(s.openFilesLimit)) {
    gauge("tracker_open_files_limit", "The process's open-files limit (Bun raises the soft limit to the hard one).", s.openFilesLimit);
  }
  if (s.http.acceptPaused !== null) {
    gauge("tracker_http_accept_paused", "1 while the HTTP listener is paused for lack of file descriptors.", s.http.acceptPaused ? 1 : 0);
  }
  if (s.openHttpRequests !== null) {
    gauge("tracker_http_open_requests", "HTTP requests in flight (this scrape included).", s.openHttpRequests);
  }
  gauge(
    "tracker_requests_per_second",
    `HTTP requests + UDP datagrams per second over the last ${s.requestsPerSecondWindowSeconds} s.`,
    s.requestsPerSecond,
  );
  const mem = "Process memory (process.memoryUsage), bytes.";
  gauge("tracker_memory_bytes", mem, s.memory.rss, 'kind="rss"');
  gauge("tracker_memory_bytes", mem, s.memory.heapUsed, 'kind="heap_used"');
  gauge("tracker_memory_bytes", mem, s.memory.heapTotal, 'kind="heap_total"');
  gauge("tracker_memory_bytes", mem, s.memory.external, 'kind="external"');
  gauge("tracker_memory_bytes", mem, s.memory.arrayBuffers, 'kind="array_buffers"');
  if (s.udp.receiveDrops !== null) {
    add(
      "tracker_udp_receive_drops_total", "counter",
      "UDP datagrams the kernel dropped because the socket's receive buffer was full (raise net.core.rmem_default).",
      "", s.udp.receiveDrops,
    );
    gauge("tracker_udp_receive_queue_bytes", "Bytes waiting in the UDP socket's receive buffer now.", s.udp.receiveQueueBytes ?? 0);
  }
  gauge("tracker_swarm_store_bytes", "Bytes held by the swarm store's typed arrays.", s.memory.swarmStore);
  gauge("tracker_peer_id_bytes", "Of the swarm store: bytes of kept peer_ids (0 until a client asks for compact=0 answers).", s.memory.peerIds);
  gauge("tracker_torrents", "Torrents known now.", s.swarm.torrents);
  gauge("tracker_torrents_limit", "Capacity: the most torrents (config maxTorrents).", s.swarm.maxTorrents);
  const peers = "Peers known now, by address family.";
  gauge("tracker_peers", peers, s.swarm.peersIPv4, 'family="ipv4"');
  gauge("tracker_peers", peers, s.swarm.peersIPv6, 'family="ipv6"');
  gauge("tracker_peers_limit", "Capacity: the most peers (config maxPeers).", s.swarm.maxPeers);
  gauge("tracker_seeders", "Peers with nothing left to download.", s.swarm.seeders);
  gauge("tracker_leechers", "Peers still downloading.", s.swarm.leechers);
  gauge("tracker_sweep_removed_peers", "Peers removed by the last sweep cycle.", s.sweep.removedPeers);
  gauge("tracker_sweep_removed_torrents", "Torrents removed by the last sweep cycle.", s.sweep.removedTorrents);
  gauge("tracker_sweep_max_swarm_peers", "Peers of the largest swarm seen by the last sweep cycle.", s.sweep.maxPeers);
  gauge("tracker_sweep_duration_seconds", "Time the last sweep cycle spent sweeping.", s.sweep.micros / 1e6);
  gauge("tracker_sweep_longest_slice_seconds", "The longest single sweep slice (the longest the sweep held the event loop at once).", s.sweep.longestSliceMicros / 1e6, 'period="last_cycle"');
  gauge("tracker_sweep_longest_slice_seconds", "", s.sweep.longestSliceMicrosSinceStart / 1e6, 'period="since_start"');
  const st = s.store;
  gauge("tracker_store_up", "1 if the swarm store answers now (always 1 for memory).", st.up ? 1 : 0, `kind="${st.kind}"`);
  if (st.kind !== "memory") {
    gauge("tracker_store_round_trip_seconds", "Median round trip to the swarm store over its last requests.", st.rttMs / 1000);
    add("tracker_store_disconnects_total", "counter", "Connections to the swarm store lost.", "", st.disconnects);
  }
  if (s.tls !== null) {
    const t = s.tls;
    gauge("tracker_tls_certificate_expiry_timestamp_seconds", "When the HTTPS certificate in force expires, Unix seconds.", Date.parse(t.notAfter) / 1000, `subject="${t.subject.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`);
    gauge("tracker_tls_certificate_days_left", "Days until the HTTPS certificate in force expires.", t.daysLeft);
    add("tracker_tls_reloads_total", "counter", "Reloads of the HTTPS certificate pair (SIGHUP, file change), by result.", 'result="ok"', t.reloadsOk);
    add("tracker_tls_reloads_total", "counter", "", 'result="refused"', t.reloadsFailed);
  }
  if (s.state !== null && s.state.lastSavedAt !== null) {
    gauge("tracker_state_last_save_timestamp_seconds", "When the state file was last written, Unix seconds.", Date.parse(s.state.lastSavedAt) / 1000);
    gauge("tracker_state_last_save_duration_seconds", "How long the last state file write took.", (s.state.lastSaveMillis ?? 0) / 1000);
    gauge("tracker_state_last_save_bytes", "Size of the last state file written.", s.state.lastSaveBytes ?? 0);
  }
  if (s.ws !== null) {
    gauge("tracker_ws_open_connections", "WebSocket connections open now.", s.ws.openConnections);
    gauge("tracker_webrtc_peers", "WebRTC (WebTorrent) peers now.", s.ws.peers);
    gauge("tracker_webrtc_swarms", "WebRTC (WebTorrent) swarms now.", s.ws.swarms);
    gauge("tracker_ws_pending_offers", "Relayed offers waiting for their answer.", s.ws.pendingOffers);
  }
  if (s.private !== null) gauge("tracker_passkeys", "Private mode: passkeys in force (neither revoked nor expired).", s.private.keys);
  if (s.access !== null) {
    const a = s.access;
    gauge("tracker_access_list_entries", "Info hashes in the access list in force.", a.entries, `mode="${a.mode}"`);
    gauge("tracker_access_list_loaded_timestamp_seconds", "When the access list in force was loaded, Unix seconds.", Date.parse(a.loadedAt) / 1000);
    gauge("tracker_access_list_last_reload_timestamp_seconds", "When the access list was last read, Unix seconds.", Date.parse(a.lastReloadAt) / 1000);
    gauge("tracker_access_list_last_reload_ok", "1 if the last reload of the access list was taken, 0 if it was refused.", a.lastReloadResult === "ok" ? 1 : 0);
    add("tracker_access_list_reloads_total", "counter", "Reloads of the access list, by result.", 'result="ok"', a.reloadsOk);
    add("tracker_access_list_reloads_total", "counter", "", 'result="refused"', a.reloadsFailed);
  }
  return [...families.values()];
}

/** A sample value in the exposition format (Go's ParseFloat spellings for the specials). */
function metricValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** HELP text escaping (format 0.0.4): backslash and newline. */
function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function renderMetrics(families: MetricFamily[]): string {
  let out = "";
  for (const f of families) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const [labels, value] of f.samples) {
      out += `${f.name}${labels === "" ? "" : `{${labels}}`} ${metricValue(value)}\n`;
    }
  }
  return out;
}
