/**
 * Real WebTorrent clients (Node, npm packages in test/ws-clients/) against the tracker's
 * WebSocket endpoint (ws://127.0.0.1:PORT/ and /announce, the protocol of the npm
 * `bittorrent-tracker` server):
 *   (a) two webtorrent@3 clients move a random file through the tracker over WebRTC
 *       (@roamhq/wrtc), DHT/LSD/PEX off, the tracker their only announce URL; the copy's
 *       SHA-256 must match (test/ws-clients/seed-and-leech.mjs);
 *   (b) the bittorrent-tracker Client announces started, scrapes (counting itself), announces
 *       stopped, and a second client's scrape then shows it gone (tracker-client.mjs).
 *
 * Each case runs in its own network namespace holding only `lo` (test/e2e/sandbox.ts: `unshare
 * -n`, lo brought up, which a new namespace has down), with the tracker and the node script
 * inside it: WebRTC gathers candidates on every interface, and there it finds loopback only. The
 * clients use no STUN server (simple-peer's default names public ones) and no DHT, LSD, PEX or
 * NAT traversal, so nothing leaves the machine even in the host fallback. The clients need `npm ci --ignore-scripts` in test/ws-clients
 * (.ci/run does it) and `node` on PATH: when either is missing the cases are skipped loudly, and
 * FAIL when CI=true.
 *
 * WS_CLIENTS_TRACKER=npm runs the same cases against the npm bittorrent-tracker Server
 * (test/ws-clients/npm-tracker.mjs) instead of ours: a reference, to tell a harness problem
 * from a tracker problem. E2E_SANDBOX=netns|userns|host forces the sandbox mode.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeSandbox, Sandbox, settlesWithin, type Proc } from "./e2e/sandbox.ts";
import { MAIN } from "./support/child.ts";
import { makeCert, type TestCert } from "./support/certs.ts";
import { freePort } from "./support/ports.ts";

const IN_CI = process.env.CI === "true";
const CLIENTS_DIR = join(import.meta.dir, "ws-clients");
const TARGET: "ours" | "npm" = process.env.WS_CLIENTS_TRACKER === "npm" ? "npm" : "ours";
/** Inside a fresh namespace every port is free; on the host's loopback one is looked for. */
const NAMESPACE_PORT = 7000;

/** seed-and-leech.mjs holds itself to this (and to 5 s more at the very worst). */
const TRANSFER_SCRIPT_MS = 25_000;
const TRANSFER_TEST_MS = 35_000;
/** tracker-client.mjs: each answer within this (4 answers; 5 s more at the very worst). */
const ANSWER_MS = 4000;
const ANNOUNCE_TEST_MS = 25_000;
const FILE_BYTES = 1024 * 1024;

// ---- what this machine has: said once, loudly when something is missing ----
const node = Bun.which("node");
const notInstalled = ["webtorrent", "@roamhq/wrtc", "bittorrent-tracker", "webrtc-polyfill"].filter(
  (p) => !existsSync(join(CLIENTS_DIR, "node_modules", p, "package.json")),
);
const missing = [
  ...(node === null ? ["`node` is not on PATH"] : []),
  ...(notInstalled.length === 0
    ? []
    : [`not installed in test/ws-clients/node_modules: ${notInstalled.join(", ")} (run: cd test/ws-clients && npm ci --ignore-scripts)`]),
];
const sandbox = await probeSandbox();
console.error(
  [
    sandbox.mode === "host"
      ? `!!! ws-clients: NO NETWORK NAMESPACE (${sandbox.reason}): WebRTC runs on the host's interfaces instead.`
      : `ws-clients: each case runs in its own network namespace (${sandbox.mode}: ${sandbox.reason}).`,
    `ws-clients: tracker under test: ${TARGET === "ours" ? "ours (src/main.ts)" : "the npm bittorrent-tracker Server (WS_CLIENTS_TRACKER=npm)"}.`,
  ].join("\n"),
);

/** A case that needs the Node clients: it fails in CI when they are missing, else skips loudly. */
function clientsTest(name: string, fn: () => Promise<void>, timeoutMs: number): void {
  if (missing.length === 0) {
    test(name, fn, timeoutMs);
    return;
  }
  const why = missing.join("; ");
  if (IN_CI) {
    test(name, () => {
      throw new Error(`ws-clients: cannot run "${name}": ${why}. CI=true, so a missing client is a failure.`);
    });
  } else {
    console.error(`!!! ws-clients: SKIPPED "${name}": ${why} (this would FAIL with CI=true)`);
    test.skip(name, fn);
  }
}

/** The environment without TRACKER_* settings, which would change what is tested. */
function withoutTrackerSettings(cmd: string[]): string[] {
  const unset = Object.keys(process.env).filter((k) => k.startsWith("TRACKER_")).flatMap((k) => ["-u", k]);
  return unset.length === 0 ? cmd : ["env", ...unset, ...cmd];
}

/**
 * Start the tracker under test inside `box` on a port of its own. The script started next
 * waits (bounded) for it to accept connections; a tracker that exits instead is reported.
 */
async function startTracker(box: Sandbox, tls: TestCert | null = null): Promise<{ proc: Proc; port: number; tlsPort: number }> {
  const port = box.mode === "host" ? await freePort() : NAMESPACE_PORT;
  const tlsPort = tls === null ? 0 : box.mode === "host" ? await freePort() : NAMESPACE_PORT + 1;
  const tlsArgs = tls === null ? [] : ["--tls-port", String(tlsPort), "--tls-cert", tls.cert, "--tls-key", tls.key];
  const cmd =
    TARGET === "ours"
      ? withoutTrackerSettings([process.execPath, "run", MAIN, String(port), "--host", "127.0.0.1", "--quiet", ...tlsArgs])
      : [node!, join(CLIENTS_DIR, "npm-tracker.mjs"), String(port), "127.0.0.1"];
  return { proc: box.spawn(`tracker (${TARGET})`, cmd), port, tlsPort };
}

/**
 * Run a node script of test/ws-clients inside `box` next to `tracker`, bounded by `ms`: its
 * stdout's JSON lines. Throws with both outputs when it fails, or when the tracker dies first.
 */
async function runScript(
  box: Sandbox, tracker: Proc, script: string, args: string[], ms: number, env: Record<string, string> = {},
): Promise<Record<string, unknown>[]> {
  const p = box.spawn(script, [node!, join(CLIENTS_DIR, script), ...args], { cwd: CLIENTS_DIR, env });
  const exited = p.sub.exited;
  const ended = await settlesWithin(Promise.race([exited, tracker.sub.exited]), ms);
  const trackerDied = !tracker.running;
  await p.stop(1000); // ends it if still running; drains the output either way
  const detail = () => `--- ${script} output:\n${p.output()}\n--- tracker output:\n${tracker.output()}`;
  if (!ended) throw new Error(`${script}: no result within ${ms} ms\n${detail()}`);
  if (trackerDied) throw new Error(`the tracker exited (code ${tracker.exitCode}) while ${script} ran\n${detail()}`);
  if (p.exitCode !== 0) throw new Error(`${script}: exit ${p.exitCode}\n${detail()}`);
  return p.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function inSandbox<T>(fn: (box: Sandbox) => Promise<T>): Promise<T> {
  const box = await Sandbox.open();
  try {
    return await fn(box);
  } finally {
    await box.close();
  }
}

describe(`WebTorrent clients through the WebSocket tracker (${TARGET})`, () => {
  // wss:// (issue 17): the same clients through the tracker's HTTPS port, trusting the test's
  // own certificate (NODE_EXTRA_CA_CERTS: Node reads it at start). Ours only: the npm server
  // reference runs no TLS.
  const schemes: ("ws" | "wss")[] = TARGET === "ours" ? ["ws", "wss"] : ["ws"];

  /**
   * In a sandbox: the tracker (with an HTTPS port and a certificate made in `work` for wss), then
   * `script` with the URL `scheme://127.0.0.1:PORT<path>` and `args`; its JSON lines.
   */
  async function throughTracker(scheme: "ws" | "wss", path: string, work: string, script: string, args: string[], ms: number) {
    const cert = scheme === "wss" ? await makeCert(work, "tracker", "localhost") : null;
    return inSandbox(async (box) => {
      const tracker = await startTracker(box, cert);
      const url = `${scheme}://127.0.0.1:${cert === null ? tracker.port : tracker.tlsPort}${path}`;
      return runScript(box, tracker.proc, script, [url, ...args], ms, cert === null ? {} : { NODE_EXTRA_CA_CERTS: cert.cert });
    });
  }

  for (const scheme of schemes) {
    clientsTest(
      `(a) two webtorrent clients move a 1 MiB file over WebRTC, signalled by ${scheme}://127.0.0.1:PORT only`,
      async () => {
        const work = mkdtempSync(join(tmpdir(), "ws-clients-"));
        try {
          const lines = await throughTracker(scheme, "", work, "seed-and-leech.mjs",
            [work, "--bytes", String(FILE_BYTES), "--timeout-ms", String(TRANSFER_SCRIPT_MS)], TRANSFER_SCRIPT_MS + 7000);
          const result = lines.at(-1)!;
          console.error(`ws-clients: (a ${scheme}) ${JSON.stringify(result)}`);
          expect(result.ok).toBe(true);
          expect(result.bytes).toBe(FILE_BYTES);
          expect(result.leechSha256).toBe(result.seedSha256 as string);
          expect(result.downloaded).toBe(FILE_BYTES);
          // The only way the leecher could reach the seeder: a WebRTC connection the tracker signalled.
          expect(result.wires).toContain("webrtc");
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      },
      TRANSFER_TEST_MS,
    );
  }

  for (const [scheme, path] of [...schemes.map((sc) => [sc, "/announce"] as const), ["ws", "/"] as const]) {
    clientsTest(
      `(b) bittorrent-tracker Client at ${scheme}://127.0.0.1:PORT${path}: announce started, scrape, announce stopped; a second client's scrape shows it gone`,
      async () => {
        const work = mkdtempSync(join(tmpdir(), "ws-clients-"));
        let lines: Record<string, unknown>[];
        try {
          lines = await throughTracker(scheme, path === "/" ? "" : path, work, "tracker-client.mjs",
            ["--left", "1000", "--timeout-ms", String(ANSWER_MS)], 4 * ANSWER_MS + 7000);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
        const step = (name: string): Record<string, unknown> => {
          const l = lines.find((x) => x.step === name);
          if (l === undefined) throw new Error(`no "${name}" answer in ${JSON.stringify(lines)}`);
          return l;
        };
        const done = lines.at(-1)!;
        console.error(`ws-clients: (b ${scheme} ${path}) ${lines.map((l) => JSON.stringify(l)).join("\n  ")}`);
        expect(done.ok).toBe(true);
        const start = step("start");
        expect(start.action).toBe("announce");
        expect(start.infoHash).toBe(done.infoHash as string);
        expect(typeof start.interval).toBe("number");
        // A leecher (left=1000) alone in a new swarm, counted in the answer to its own announce.
        expect({ complete: start.complete, incomplete: start.incomplete }).toEqual({ complete: 0, incomplete: 1 });
        const scrape = step("scrape");
        expect(scrape.infoHash).toBe(done.infoHash as string);
        expect({ complete: scrape.complete, incomplete: scrape.incomplete }).toEqual({ complete: 0, incomplete: 1 });
        expect(typeof scrape.downloaded).toBe("number");
        const stop = step("stop");
        expect(stop.action).toBe("announce");
        expect(typeof stop.complete).toBe("number");
        expect(typeof stop.incomplete).toBe("number");
        const after = step("scrape-after-stop");
        expect(after.infoHash).toBe(done.infoHash as string);
        expect({ complete: after.complete, incomplete: after.incomplete }).toEqual({ complete: 0, incomplete: 0 });
      },
      ANNOUNCE_TEST_MS,
    );
  }
});
