/** /metrics (src/operator/stats/prometheus.ts): the families as Prometheus text format 0.0.4. */
import { describe, expect, test } from "bun:test";
import { COUNTER_NAMES } from "../src/rules/counters.ts";
import { metricFamilies, renderMetrics } from "../src/operator/stats/prometheus.ts";
import { metric, parseMetrics, sampleSnapshot } from "./stats-support.ts";

describe("metrics renderer", () => {
  const snapshot = sampleSnapshot();

  test("metrics: every counter of stats-counters.ts is exported, as a counter ending in _total", () => {
    const families = metricFamilies(snapshot);
    const parsed = parseMetrics(renderMetrics(families));
    const counterSamples = parsed.samples.filter((s) => parsed.types.get(s.name) === "counter");
    expect(counterSamples.length).toBe(COUNTER_NAMES.length);
    for (const s of counterSamples) expect(s.name).toEndWith("_total");
    for (const [name, type] of parsed.types) {
      expect(name).toStartWith("tracker_");
      if (type === "gauge") expect(name).not.toEndWith("_total");
    }
    expect(metric(parsed.samples, "tracker_http_responses_total", { code: "200" })).toBe(1234567);
    expect(metric(parsed.samples, "tracker_peers", { family: "ipv6" })).toBe(1);
    expect(metric(parsed.samples, "tracker_http_open_requests")).toBe(3);
    expect(metric(parsed.samples, "tracker_refusals_total", { reason: "peer_capacity" })).toBe(0);
    const sweep = { ...snapshot.sweep, longestSliceMicros: 2500, longestSliceMicrosSinceStart: 7000 };
    const withSweep = parseMetrics(renderMetrics(metricFamilies({ ...snapshot, sweep })));
    expect(metric(withSweep.samples, "tracker_sweep_longest_slice_seconds", { period: "last_cycle" })).toBe(0.0025);
    expect(metric(withSweep.samples, "tracker_sweep_longest_slice_seconds", { period: "since_start" })).toBe(0.007);
  });

  test("metrics: a counter with no mapping is still exported under a derived name", () => {
    const parsed = parseMetrics(renderMetrics(metricFamilies({ ...snapshot, counters: { ...snapshot.counters, someNewThing: 7 } })));
    expect(parsed.types.get("tracker_some_new_thing_total")).toBe("counter");
    expect(metric(parsed.samples, "tracker_some_new_thing_total")).toBe(7);
  });
});

