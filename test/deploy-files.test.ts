/**
 * The files an operator deploys with, read as Docker would read them (no Docker engine here):
 * the licence, the build context's .dockerignore against what deploy/Dockerfile copies, the
 * HEALTHCHECK, and deploy/compose.yaml.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";

const ROOT = `${import.meta.dir}/..`;
const read = (path: string) => readFileSync(`${ROOT}/${path}`, "utf8");

/** .dockerignore's verdict for a path (Docker's rules for the patterns used: `*`, names, `!`). */
function ignored(patterns: string[], path: string): boolean {
  let out = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    const p = (negate ? raw.slice(1) : raw).replace(/\/$/, "");
    const top = path.split("/")[0]!;
    if (p === "*" || p === path || p === top) out = !negate;
  }
  return out;
}

describe("deploy files", () => {
  test("LICENSE is the MIT licence package.json names", () => {
    expect(JSON.parse(read("package.json")).license).toBe("MIT");
    expect(read("LICENSE")).toStartWith("MIT License\n");
  });

  // Regression (issue 16): there was no .dockerignore, so the build context carried node_modules.
  test(".dockerignore keeps what the Dockerfile copies and leaves node_modules, .git and the rest out", () => {
    const patterns = read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
    // Every source of every COPY (all words but the last, the destination).
    const copied = [...read("deploy/Dockerfile").matchAll(/^COPY (.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
    expect(copied).toEqual(["package.json", "package-lock.json", "src/"]);
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) expect(ignored(patterns, source)).toBe(false);
    for (const path of ["node_modules", "node_modules/bun/bin/bun.exe", ".git", "dist", "test", "bench", "test/ws-clients/node_modules"]) {
      expect(ignored(patterns, path)).toBe(true);
    }
  });

  // Regression (issue 16): the HEALTHCHECK followed TRACKER_PORT only.
  test("the HEALTHCHECK asks the tracker's own settings (the healthcheck subcommand), not TRACKER_PORT", () => {
    const dockerfile = read("deploy/Dockerfile");
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n\s+CMD \["bun", "run", "src\/main\.ts", "healthcheck"\]$/m);
    expect(dockerfile).not.toMatch(/HEALTHCHECK[^\n]*\n[^\n]*TRACKER_PORT/);
  });

  test("compose.yaml: Valkey and two nodes on it, each publishing TCP and UDP", () => {
    const doc = Bun.YAML.parse(read("deploy/compose.yaml")) as any;
    expect(Object.keys(doc.services).sort()).toEqual(["tracker-1", "tracker-2", "valkey"]);
    for (const node of ["tracker-1", "tracker-2"]) {
      const s = doc.services[node];
      expect(s.environment.TRACKER_STORE).toBe("redis://valkey:6379");
      expect(s.build.dockerfile).toBe("deploy/Dockerfile");
      const ports = s.ports.join(" ");
      expect(ports).toMatch(/\/tcp/);
      expect(ports).toMatch(/\/udp/);
    }
  });
});
