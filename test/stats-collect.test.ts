/** The snapshot's swarm figures (src/operator/stats/collect.ts), on a fake clock. */
import { describe, expect, test } from "bun:test";
import { cachedSwarmFigures } from "../src/operator/stats/collect.ts";
import { TrackerRules } from "../src/rules/tracker-rules.ts";
import { testConfig } from "./support/tracker.ts";

describe("cachedSwarmFigures", () => {
  test("walks the torrents at most once per ttl and agrees with the store", () => {
    const rules = new TrackerRules(testConfig([]));
    let walks = 0;
    const original = rules.store.figures.bind(rules.store);
    rules.store.figures = () => {
      walks++;
      return original();
    };
    let now = 0;
    const swarm = cachedSwarmFigures(rules, 1000, () => now);
    const first = swarm();
    now = 999;
    expect(swarm()).toBe(first);
    expect(walks).toBe(1);
    now = 1000;
    swarm();
    expect(walks).toBe(2);
    expect(first.swarm).toMatchObject({ torrents: 0, peers: 0, seeders: 0, leechers: 0 });
    expect(first.memory).toEqual({ swarmStore: original().bytes, peerIds: 0, peerIdState: "unused" });
  });
});
