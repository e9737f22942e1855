/**
 * The periodic terminal line, in sc6's format (pure: the caller gathers the numbers).
 *
 *   Mon Sep 14 13:17:19 GRBG:  313789 TP  209763 TT     728 MP       0 RP    1380 RT   42281 µs  LA: 0.35 0.36 0.31  ML: 0.50  I:  299-> 299 s  RPS: 934.00
 *
 * Columns (sc6's printf widths: counters `%7d`, intervals `%4d`, decimals `%.2f`):
 *   date   local time, ctime style without the year ("Www Mmm dd hh:mm:ss", day space-padded)
 *   GRBG   "garbage" (sc6's name): the sweep's figures follow
 *   TP     total peers now      TT  total torrents now
 *   MP, RP, RT and µs are those of the last complete sweep cycle (store.lastSweep): a cycle
 *   visits every torrent in one-second slices, so these lag by up to a cycle and a line may
 *   repeat the previous line's figures when no cycle ended in between:
 *   MP     most peers in one torrent seen during the cycle
 *   RP     peers removed by the cycle
 *   RT     torrents removed by the cycle
 *   µs     time spent in the cycle's slices together, microseconds
 *   LA     load average (1, 5, 15 minutes)              ML  the allowed load (config maxLoad)
 *   I      announce interval before -> after this step, seconds
 *   RPS    requests per second (HTTP + UDP + WebSocket messages) since the last line
 *   WS     with the WebSocket tracker on: open connections (C), WebRTC peers (P) and swarms (S),
 *          and offers + answers relayed per second since the last line (RLY/s)
 *
 * sc6 also prints `MT` (the longest torrent list in one bucket of its hash table) between MP and
 * RP. Our torrents live in an open-addressing index, which has no per-bucket lists, so the
 * column has no meaning here and is dropped.
 */
export interface TerminalLineInput {
  now: Date;
  totalPeers: number;
  totalTorrents: number;
  maxPeers: number;
  removedPeers: number;
  removedTorrents: number;
  sweepMicros: number;
  load: [number, number, number];
  maxLoad: number;
  intervalOld: number;
  intervalNew: number;
  rps: number;
  /** The WebSocket tracker's figures; absent when it is off. */
  ws?: { connections: number; peers: number; swarms: number; relayedPerSecond: number };
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

/** printf("%<width>d"): rounded to an integer, right-aligned, widened (never cut) when longer. */
function int(n: number, width: number): string {
  return (Number.isFinite(n) ? String(Math.round(n)) : String(n)).padStart(width);
}

/** printf("%.2f"). */
function fixed2(n: number): string {
  return n.toFixed(2);
}

function two(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** ctime(3) without the year: "Mon Sep  4 13:02:19". Local time, as sc6 prints it. */
export function formatLocalTime(d: Date): string {
  return (
    `${WEEKDAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  );
}

export function formatTerminalLine(x: TerminalLineInput): string {
  return (
    `${formatLocalTime(x.now)} GRBG: ${int(x.totalPeers, 7)} TP ${int(x.totalTorrents, 7)} TT ` +
    `${int(x.maxPeers, 7)} MP ${int(x.removedPeers, 7)} RP ${int(x.removedTorrents, 7)} RT ` +
    `${int(x.sweepMicros, 7)} µs  LA: ${fixed2(x.load[0])} ${fixed2(x.load[1])} ${fixed2(x.load[2])}  ` +
    `ML: ${fixed2(x.maxLoad)}  I: ${int(x.intervalOld, 4)}->${int(x.intervalNew, 4)} s  RPS: ${fixed2(x.rps)}` +
    (x.ws === undefined
      ? ""
      : `  WS: ${int(x.ws.connections, 7)} C ${int(x.ws.peers, 7)} P ${int(x.ws.swarms, 7)} S  RLY/s: ${fixed2(x.ws.relayedPerSecond)}`)
  );
}
