/**
 * /stats: sc6's plain-text page, with this runtime's figures (Bun memory instead of malloc).
 * Blocks of `name = value (note)` lines, values with thousands separators, blocks separated by
 * a blank line; raw counters the page does not name are listed at the end.
 */
import { formatLocalTime } from "../terminal-line.ts";
import type { StatsSnapshot } from "./collect.ts";

export const STATS_TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";

/** 14674338 -> "14,674,338" (integers; fractions are rounded). */
export function thousands(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = String(Math.round(Math.abs(n)));
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ",";
    out += s[i];
  }
  return n < 0 ? "-" + out : out;
}

/** "3 d 04:05:06". */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const clock = `${two(Math.floor(s / 3600) % 24)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
  return `${Math.floor(s / 86400)} d ${clock}`;
}

type Row = [name: string, value: number, note?: string];

/** A block of `name = value (note)` lines: names padded to the longest, values to 12 (sc6's %12s). */
function block(rows: Row[]): string {
  const width = Math.max(...rows.map((r) => r.length > 0 ? r[0].length : 0));
  return rows
    .map(([name, value, note]) => `${name.padEnd(width)} = ${thousands(value).padStart(12)}${note ? ` (${note})` : ""}\n`)
    .join("");
}

/** Counters the text page already shows under a friendlier name; the rest get listed raw. */
const SHOWN_COUNTERS = new Set<string>([
  "httpRequests", "http200", "http400", "http403", "http404", "http405", "http500", "http503", "httpBytesIn",
  "httpBytesOut", "httpAnnounces", "httpScrapes", "httpFullScrapes", "httpFullScrapeRenders",
  "httpFailures", "httpAcceptPauses", "udpPacketsIn", "udpBytesIn", "udpBytesOut", "udpConnects", "udpAnnounces",
  "udpScrapes", "udpErrorsSent", "udpDropped", "udpBadConnectionId", "udpSendErrors", "udpIcmpErrors",
]);

const PEER_ID_NOTES = {
  kept: "kept: a client asked for compact=0 answers",
  unused: "not kept: no client has asked for compact=0 answers",
  off: "not kept: --no-peer-ids",
} as const;

/** The /stats page: sc6's layout, with this runtime's figures (Bun memory instead of malloc). */
export function renderStatsText(s: StatsSnapshot): string {
  const start = new Date(s.startTimeSeconds * 1000);
  const h = s.http;
  const u = s.udp;
  const w = s.swarm;
  const m = s.memory;
  const sections: string[] = [];
  sections.push(
    `start_time = ${formatLocalTime(start)} ${start.getFullYear()}\n` +
    `uptime     = ${formatUptime(s.uptimeSeconds)}\n`,
  );
  sections.push("Live charts: /dashboard (the same access rule as this page)\n");
  sections.push(
    `Load Avg = ${s.loadAverage.map((x) => x.toFixed(2)).join(" ")}\n` +
    `Interval = ${s.intervalSeconds}\n` +
    (s.openHttpRequests === null ? "" : `Open HTTP requests: ${thousands(s.openHttpRequests)}\n`) +
    (s.openFiles === null ? "" : `Open files: ${thousands(s.openFiles)} of ${s.openFilesLimit === null ? "?" : thousands(s.openFilesLimit)}` +
      `${s.http.acceptPaused ? " (HTTP paused: out of descriptors)" : ""}, HTTP accept pauses: ${thousands(s.http.acceptPauses)}\n`) +
    (s.loopStall === null ? "" : `Longest loop stall: ${s.loopStall.longestLastMinuteMs} ms (last minute), ${s.loopStall.longestSinceStartMs} ms (since start)\n`),
  );
  sections.push(`Request per second ~ ${s.requestsPerSecond.toFixed(2)} (HTTP + UDP, last ${s.requestsPerSecondWindowSeconds} s)\n`);
  sections.push(block([
    ["memory.rss", m.rss],
    ["memory.heap_used", m.heapUsed],
    ["memory.heap_total", m.heapTotal],
    ["memory.external", m.external],
    ["memory.array_buffers", m.arrayBuffers],
    ["memory.swarm_store", m.swarmStore, "typed arrays"],
    ["memory.peer_ids", m.peerIds, PEER_ID_NOTES[m.peerIdState]],
  ]));
  sections.push(block([
    ["torrents", w.torrents, `max ${thousands(w.maxTorrents)}`],
    ["peers", w.peers, `max ${thousands(w.maxPeers)}`],
    ["peers_ipv4", w.peersIPv4],
    ["peers_ipv6", w.peersIPv6],
    ["seeders", w.seeders],
    ["leechers", w.leechers],
  ]));
  sections.push(block([
    ["sweep.removed_peers", s.sweep.removedPeers, "last cycle"],
    ["sweep.removed_torrents", s.sweep.removedTorrents],
    ["sweep.max_peers", s.sweep.maxPeers, "largest swarm"],
    ["sweep.micros", s.sweep.micros],
    ["sweep.longest_slice_micros", s.sweep.longestSliceMicros, "holding the loop at once"],
    ["sweep.longest_slice_micros_ever", s.sweep.longestSliceMicrosSinceStart, "since start"],
  ]));
  sections.push(block([
    ["stats.http_200", h.responses["200"] ?? 0],
    ["stats.http_400", h.responses["400"] ?? 0],
    ["stats.http_403", h.responses["403"] ?? 0, "stats access"],
    ["stats.http_404", h.responses["404"] ?? 0],
    ["stats.http_405", h.responses["405"] ?? 0, "Not GET"],
    ["stats.http_500", h.responses["500"] ?? 0],
    ["stats.http_503", h.responses["503"] ?? 0, "full scrapes over the limit"],
  ]));
  sections.push(block([
    ["stats.requests", h.requests],
    ["stats.failures", h.failures, "failure reason"],
  ]));
  sections.push(block([
    ["stats.sent_bytes", h.bytesOut],
    ["stats.recv_bytes", h.bytesIn, "request URLs"],
  ]));
  sections.push(block([
    ["stats.sent_bytes_udp", u.bytesOut],
    ["stats.recv_bytes_udp", u.bytesIn],
  ]));
  sections.push(block([
    ["stats.announce", h.announces],
    ["stats.scrape", h.scrapes],
    ["stats.full_scrape", h.fullScrapes, `${thousands(h.fullScrapeRenders)} rendered`],
  ]));
  sections.push(block([
    ["stats.recv_pass_udp", u.packets],
    ["stats.connect_udp", u.connects],
    ["stats.announce_udp", u.announces],
    ["stats.scrape_udp", u.scrapes],
  ]));
  sections.push(block([
    ["stats.bad_connection_id_udp", u.badConnectionId],
    ["stats.errors_sent_udp", u.errorsSent],
    ["stats.dropped_udp", u.dropped, "junk"],
    ["stats.send_failed_udp", u.sendErrors],
    ["stats.icmp_udp", u.icmpErrors],
    ...(u.receiveDrops === null ? [] : [
      ["stats.receive_drops_udp", u.receiveDrops, "kernel: receive buffer full; raise net.core.rmem_default"] as Row,
      ["stats.receive_queue_bytes_udp", u.receiveQueueBytes ?? 0, "waiting in the receive buffer now"] as Row,
    ]),
  ]));
  {
    const st = s.store;
    sections.push(
      st.kind === "memory"
        ? "store = memory\n"
        : `store = ${st.kind} ${st.where} (${st.up ? "up" : "DOWN"}, round trip ${st.rttMs.toFixed(2)} ms, ` +
            `${thousands(st.unavailable)} requests refused while unreachable, ${thousands(st.disconnects)} disconnects)\n`,
    );
  }
  if (s.tls !== null) {
    const t = s.tls;
    sections.push(
      `tls.port = ${t.port}\n` +
        `tls.certificate = ${t.subject} (${t.cert}), valid until ${t.notAfter}: ${t.daysLeft.toFixed(1)} days left${t.expiresSoon ? " (RENEW IT)" : ""}\n` +
        `tls.last_reload = ${t.lastReloadAt ?? "none since start"}${t.lastReloadAt === null ? "" : ` (${t.lastReloadTrigger}): ${t.lastReloadResult}`}\n` +
        `tls.reloads = ${thousands(t.reloadsOk)} ok, ${thousands(t.reloadsFailed)} refused\n`,
    );
  }
  if (s.state !== null) {
    const st = s.state;
    sections.push(
      `state.file = ${st.path}\n` +
        `state.last_saved = ${st.lastSavedAt ?? "not yet"}${st.lastSaveMillis === null ? "" : ` (${thousands(st.lastSaveMillis)} ms, ${thousands(st.lastSaveBytes ?? 0)} bytes, ${st.lastSaveResult})`}\n` +
        `state.at_start = ${st.restore}${st.restore === "restored" ? ` (${thousands(st.restoredTorrents)} torrents, ${thousands(st.restoredPeers)} peers)` : ""}\n`,
    );
  }
  if (s.access !== null) {
    const a = s.access;
    sections.push(
      `access.mode = ${a.mode}\n` +
        `access.list = ${a.path} (${thousands(a.entries)} info_hashes, ${thousands(a.bytes)} bytes, loaded ${a.loadedAt})\n` +
        `access.last_reload = ${a.lastReloadAt} (${a.lastReloadTrigger}): ${a.lastReloadResult}\n` +
        `access.reloads = ${thousands(a.reloadsOk)} ok, ${thousands(a.reloadsFailed)} refused\n`,
    );
  }
  if (s.ws !== null) {
    const w = s.ws;
    sections.push(block([
      ["ws.open_connections", w.openConnections],
      ["ws.webrtc_peers", w.peers],
      ["ws.webrtc_swarms", w.swarms],
      ["ws.pending_offers", w.pendingOffers, "relayed, waiting for their answer"],
      ["ws.messages", w.messages],
      ["ws.announces", w.announces],
      ["ws.scrapes", w.scrapes],
      ["ws.offers_relayed", w.offersRelayed],
      ["ws.answers_relayed", w.answersRelayed],
      ["ws.answers_refused", w.answersRefused, "no such offer pending"],
      ["ws.failures", w.failures],
      ["ws.bad_messages", w.badMessages],
    ]));
  }
  if (s.private !== null) {
    sections.push(`private.db = ${s.private.db}\nprivate.passkeys = ${thousands(s.private.keys)} (read ${s.private.keysReadAt})\n`);
  }
  const others: Row[] = Object.keys(s.counters)
    .filter((name) => !SHOWN_COUNTERS.has(name))
    .map((name) => [`stats.${name}`, s.counters[name]!]);
  if (others.length > 0) sections.push(block(others));
  return sections.join("\n");
}
