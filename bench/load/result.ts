/** What one load run measured, and its text rendering. */
import type { LatencyHistogram } from "./histogram.ts";
import type { LoadMode, LoadOptions } from "./options.ts";

export interface LoadResult {
  mode: LoadMode;
  target: string;
  /** Measured wall time, seconds. */
  seconds: number;
  torrents: number;
  clients: number;
  /** UDP window or HTTP connections. */
  concurrency: number;
  /** Requests sent (HTTP: requests written). */
  sent: number;
  /** Valid responses (connect + announce + scrape). */
  responses: number;
  responsesPerSecond: number;
  connects: number;
  announces: number;
  scrapes: number;
  /** Replies that failed validation, including tracker errors and failure reasons. */
  invalid: number;
  /** Of `invalid`: UDP error replies (action 3) and HTTP `failure reason` dicts. */
  trackerErrors: number;
  /** UDP: requests unanswered within the timeout. HTTP: connections that failed or closed early. */
  lost: number;
  /** UDP: answers that arrived after their request was counted lost. */
  late: number;
  /** Sends the kernel refused (the request was not counted as sent). */
  sendErrors: number;
  /** HTTP over TLS (--tls). */
  tls: boolean;
  /** TLS: handshakes that failed (certificate refused), and the first reason. */
  handshakeFailures: number;
  handshakeError: string | null;
  /** HTTP keep-alive: connections re-opened because the server closed them. */
  reconnects: number;
  /** Requests still unanswered when the time was up (neither counted nor lost). */
  inFlightAtEnd: number;
  /** Peers received in announce answers. */
  peersReceived: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** The first few validation failures, for diagnosis. */
  invalidSamples: string[];
}

/** Mutable counters a mode fills in during a run. */
export class Counters {
  sent = 0;
  connects = 0;
  announces = 0;
  scrapes = 0;
  invalid = 0;
  trackerErrors = 0;
  lost = 0;
  late = 0;
  sendErrors = 0;
  reconnects = 0;
  peersReceived = 0;
  handshakeFailures = 0;
  handshakeError: string | null = null;
  readonly invalidSamples: string[] = [];

  /** Counts an invalid reply; keeps its description if fewer than 5 are kept. */
  invalidReply(describe: () => string): void {
    this.invalid++;
    if (this.invalidSamples.length < 5) this.invalidSamples.push(describe());
  }
}

export function buildResult(
  options: LoadOptions,
  counters: Counters,
  latency: LatencyHistogram,
  seconds: number,
  inFlightAtEnd: number,
): LoadResult {
  const responses = counters.connects + counters.announces + counters.scrapes;
  const t = options.target;
  return {
    mode: options.mode,
    target: t.ipv6 ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`,
    seconds: Math.round(seconds * 1000) / 1000,
    torrents: options.torrents,
    clients: options.clients,
    concurrency: options.mode === "udp" ? options.window : options.connections,
    sent: counters.sent,
    responses,
    responsesPerSecond: Math.round(responses / seconds),
    connects: counters.connects,
    announces: counters.announces,
    scrapes: counters.scrapes,
    invalid: counters.invalid,
    trackerErrors: counters.trackerErrors,
    lost: counters.lost,
    late: counters.late,
    sendErrors: counters.sendErrors,
    tls: options.tls !== null,
    handshakeFailures: counters.handshakeFailures,
    handshakeError: counters.handshakeError,
    reconnects: counters.reconnects,
    inFlightAtEnd,
    peersReceived: counters.peersReceived,
    latencyUs: {
      p50: latency.percentile(50),
      p90: latency.percentile(90),
      p99: latency.percentile(99),
      p999: latency.percentile(99.9),
      max: Math.round(latency.max),
    },
    invalidSamples: counters.invalidSamples,
  };
}

export function formatResult(r: LoadResult): string {
  const lines = [
    `${r.mode}${r.tls ? " (TLS)" : ""} -> ${r.target}: ${r.seconds}s, ${r.torrents} torrents, ${r.clients} clients, concurrency ${r.concurrency}`,
    `  responses/s  ${r.responsesPerSecond}`,
    `  latency µs   p50 ${r.latencyUs.p50}  p90 ${r.latencyUs.p90}  p99 ${r.latencyUs.p99}  p99.9 ${r.latencyUs.p999}  max ${r.latencyUs.max}`,
    `  sent ${r.sent}  responses ${r.responses} (connect ${r.connects}, announce ${r.announces}, scrape ${r.scrapes})`,
    `  lost ${r.lost}  late ${r.late}  invalid ${r.invalid} (tracker errors ${r.trackerErrors})  send errors ${r.sendErrors}  reconnects ${r.reconnects}  in flight at end ${r.inFlightAtEnd}`,
    `  peers received ${r.peersReceived} (${r.announces ? (r.peersReceived / r.announces).toFixed(1) : "0"} per announce)`,
  ];
  if (r.tls) lines.push(`  TLS handshake failures ${r.handshakeFailures}${r.handshakeError === null ? "" : ` (${r.handshakeError})`}`);
  for (const s of r.invalidSamples) lines.push(`  invalid: ${s}`);
  return lines.join("\n");
}
