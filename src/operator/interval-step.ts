/**
 * The load rule's timer: every `intervalStepPeriod` seconds, move the announce interval the
 * rules hand out (nextInterval, load-interval.ts) and print sc6's terminal line
 * (terminal-line.ts) with the store's figures and the requests per second since the last line.
 */
import { loadavg } from "node:os";
import { C } from "../rules/counters.ts";
import type { TrackerRules } from "../rules/tracker-rules.ts";
import { nextInterval } from "./load-interval.ts";
import { formatTerminalLine } from "./terminal-line.ts";

export interface IntervalStep {
  /** Print the terminal line without moving the interval (at start-up). */
  printLine(): void;
  stop(): void;
}

/**
 * @param warnings  lines printed after each terminal line while they say something (the HTTPS
 *                  certificate close to its expiry); none by default.
 */
export function startIntervalStep(
  rules: TrackerRules, log: (line: string) => void, warnings: () => string[] = () => [],
): IntervalStep {
  const counters = rules.counters;
  let lastRequests = 0;
  let lastRelayed = 0;
  let lastStepAt = performance.now();
  const requests = () => counters[C.httpRequests]! + counters[C.udpPacketsIn]! + counters[C.wsMessagesIn]!;
  const relayed = () => counters[C.wsOffersRelayed]! + counters[C.wsAnswersRelayed]!;

  function step(move: boolean): void {
    const config = rules.config; // read afresh: SIGHUP may have changed it
    const load = loadavg() as [number, number, number];
    const old = rules.interval;
    if (move) {
      rules.interval = nextInterval(old, load[2], config.maxLoad, config.intervalStep, config.intervalMin, config.intervalMax);
    }
    const t = performance.now();
    const total = requests();
    const seconds = (t - lastStepAt) / 1000;
    const rps = !move || seconds <= 0 ? 0 : (total - lastRequests) / seconds;
    const relays = relayed();
    const relayedPerSecond = !move || seconds <= 0 ? 0 : (relays - lastRelayed) / seconds;
    lastRequests = total;
    lastRelayed = relays;
    lastStepAt = t;
    if (config.quiet) return;
    const store = rules.store;
    const sweep = store.lastSweep;
    log(formatTerminalLine({
      now: new Date(),
      totalPeers: store.peerCount,
      totalTorrents: store.torrentCount,
      maxPeers: sweep.maxPeers,
      removedPeers: sweep.removedPeers,
      removedTorrents: sweep.removedTorrents,
      sweepMicros: sweep.micros,
      load,
      maxLoad: config.maxLoad,
      intervalOld: old,
      intervalNew: rules.interval,
      rps,
      ws: !config.ws || !config.http
        ? undefined
        : {
          connections: counters[C.wsConnections]! - counters[C.wsConnectionsClosed]!,
          peers: rules.webrtc.peerCount,
          swarms: rules.webrtc.swarms.size,
          relayedPerSecond,
        },
    }));
    for (const line of warnings()) log(line);
  }

  // Guarded: an exception escaping a timer callback would end the process.
  const timer = setInterval(() => {
    try {
      step(true);
    } catch (e) {
      console.error("interval step: unexpected error", e);
    }
  }, rules.config.intervalStepPeriod * 1000);
  timer.unref();
  return { printLine: () => step(false), stop: () => clearInterval(timer) };
}
