/**
 * Shared by the stats tests: a snapshot with known figures for the renderers, and a strict
 * parser for the Prometheus text format that /metrics emits.
 */
import { C } from "../src/rules/counters.ts";
import { collectStats, type StatsSnapshot } from "../src/operator/stats/collect.ts";
import { TrackerRules } from "../src/rules/tracker-rules.ts";
import { testConfig } from "./support/tracker.ts";

/** A snapshot of an idle tracker with http200 = 1234567, 3 open requests, 12.5 requests/s. */
export function sampleSnapshot(): StatsSnapshot {
  const rules = new TrackerRules(testConfig([]));
  rules.counters[C.http200] = 1234567;
  return collectStats(rules, {
    openHttpRequests: () => 3,
    requestsPerSecond: () => 12.5,
    swarm: () => ({
      swarm: { torrents: 2, peers: 5, peersIPv4: 4, peersIPv6: 1, seeders: 2, leechers: 3, maxTorrents: 10, maxPeers: 20 },
      memory: { swarmStore: 4096, peerIds: 0, peerIdState: "unused" },
    }),
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict little parser for the Prometheus text format 0.0.4 as we emit it: every line is a
 * `# HELP`, a `# TYPE` or a sample; each family has HELP then TYPE before its samples, once;
 * sample values are numbers. Throws on anything else.
 */
export function parseMetrics(text: string): { types: Map<string, string>; helps: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const help = new RegExp(`^# HELP (${NAME}) (.*)$`);
  const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
  const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
  const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/;
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = help.exec(line))) {
      if (helps.has(m[1]!)) throw new Error(`second HELP for ${m[1]}`);
      helps.set(m[1]!, m[2]!);
    } else if ((m = type.exec(line))) {
      if (types.has(m[1]!)) throw new Error(`second TYPE for ${m[1]}`);
      if (!helps.has(m[1]!)) throw new Error(`TYPE before HELP for ${m[1]}`);
      types.set(m[1]!, m[2]!);
    } else if ((m = sample.exec(line))) {
      const name = m[1]!;
      if (!types.has(name)) throw new Error(`sample before TYPE: ${line}`);
      const labels: Record<string, string> = {};
      let rest = m[2] ?? "";
      while (rest !== "") {
        const l = label.exec(rest);
        if (l === null) throw new Error(`bad labels in: ${line}`);
        labels[l[1]!] = l[2]!;
        rest = rest.slice(l[0].length);
      }
      const raw = m[3]!;
      if (!/^(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|NaN|[+-]Inf)$/.test(raw)) throw new Error(`bad value in: ${line}`);
      samples.push({ name, labels, value: raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw) });
    } else {
      throw new Error(`not a metrics line: ${JSON.stringify(line)}`);
    }
  }
  // Samples of one family are contiguous (the format requires it).
  const seen = new Set<string>();
  let last = "";
  for (const s of samples) {
    if (s.name !== last && seen.has(s.name)) throw new Error(`samples of ${s.name} are split`);
    seen.add(s.name);
    last = s.name;
  }
  return { types, helps, samples };
}

export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

