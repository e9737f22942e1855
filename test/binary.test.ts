/**
 * The single binary: `bun build --compile --minify src/main.ts` (what `npm run build` does, but
 * into a temporary directory, not dist/), then the binary run as an operator would: `--help`,
 * `--print-config` fed back through `--config`, a bad argument, HTTP and UDP on one port, and a
 * SIGTERM that exits 0.
 *
 * The build takes well under a second here (~104 MiB binary); the whole file is bounded at 60 s
 * in case a slow machine takes longer. Every wait is bounded and the process is killed in
 * `finally`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitWithin } from "./support/child.ts";
import { freePort } from "./support/ports.ts";
import { announceUrl, bytes20, getBencoded } from "./support/tracker.ts";
import { connectPacket, UdpClient } from "./support/udp-client.ts";

const ROOT = join(import.meta.dir, "..");
const BUILD_TIMEOUT = 60_000;
const TEST_TIMEOUT = 20_000;

let dir = "";
let binary = "";

/** The caller's environment without TRACKER_* settings, which would change what is tested. */
function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TRACKER_")));
}

/** Run the binary to completion (bounded); a run that does not end is killed and reported as null. */
async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([binary, ...args], { env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  try {
    const code = await exitWithin(proc, 10_000);
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { code, stdout, stderr };
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
}


beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sc6-binary-"));
  binary = join(dir, "sc6-tracker");
  // process.execPath is the bun running this test: the same version builds the binary.
  const build = Bun.spawn(
    [process.execPath, "build", "--compile", "--minify", join(ROOT, "src/main.ts"), "--outfile", binary],
    { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  try {
    const code = await exitWithin(build, BUILD_TIMEOUT - 5_000);
    if (code !== 0) {
      const err = await new Response(build.stderr).text();
      throw new Error(`bun build --compile exited ${code}: ${err}`);
    }
  } finally {
    if (build.exitCode === null) build.kill("SIGKILL");
  }
}, BUILD_TIMEOUT);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("single binary (bun build --compile)", () => {
  test("is one self-contained executable file", () => {
    const st = statSync(binary);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o111).not.toBe(0);
    // It embeds the Bun runtime (~104 MiB on linux-x64); a few KiB would mean a script stub.
    expect(st.size).toBeGreaterThan(10 * 1024 * 1024);
  });

  test("--help exits 0 with the usage on stdout", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toStartWith("Usage: sc6-tracker [port] [interval] [options]");
  }, TEST_TIMEOUT);

  test("a bad argument exits 2 with the problem and a usage hint on stderr", async () => {
    const r = await run(["--prot", "6969"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("sc6-tracker: unknown option --prot (did you mean --port?)");
    expect(r.stderr).toContain("Try 'sc6-tracker --help' for usage.");
  }, TEST_TIMEOUT);

  test("serves HTTP and UDP on one port from a --print-config file, and exits 0 on SIGTERM", async () => {
    // The deployment path: `sc6-tracker --print-config > tracker.toml`, then `--config` it.
    const printed = await run(["--print-config"]);
    expect(printed.code).toBe(0);
    const configFile = join(dir, "tracker.toml");
    writeFileSync(configFile, printed.stdout);

    let proc: ReturnType<typeof Bun.spawn> | null = null;
    let port = 0;
    try {
      // Flags override the file: a free port on loopback, quiet.
      for (let attempt = 0; attempt < 3 && proc === null; attempt++) {
        port = await freePort();
        const p = Bun.spawn([binary, "--config", configFile, String(port), "--host", "127.0.0.1", "--quiet"], {
          env: cleanEnv(),
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        });
        let banner: string | null = null;
        for (let i = 0; i < 200 && banner === null && p.exitCode === null; i++) {
          banner = await fetch(`http://127.0.0.1:${port}/`).then(
            (res) => res.text(),
            () => null,
          );
          if (banner === null) await Bun.sleep(25);
        }
        if (banner !== null) {
          proc = p;
          expect(banner).toMatch(/^sc6-tracker \S+ \(Bun \S+\): a BitTorrent tracker\./);
        } else if (p.exitCode === null) {
          p.kill("SIGKILL");
          throw new Error(`the binary did not answer on port ${port} within ~5 s`);
        } // else it exited at start-up (port taken meanwhile): try another port
      }
      expect(proc).not.toBeNull();

      // HTTP announce with percent-encoded 20-byte info_hash and peer_id.
      const base = `http://127.0.0.1:${port}`;
      const answer = await getBencoded(
        announceUrl(base, { infoHash: bytes20(0xfe, 0x01), peerId: bytes20(0x2d, 0x02), port: 6881, event: "started" }),
      );
      expect(answer.interval).toBe(299);
      expect(answer.incomplete).toBe(1);
      expect(answer.peers).toBeInstanceOf(Uint8Array);

      // UDP (BEP 15) connect on the same port: 16 bytes, action 0, our transaction id back.
      const udp = await UdpClient.open("127.0.0.1", port);
      try {
        const reply = await udp.request(connectPacket(0x5eed1234));
        expect(reply.length).toBe(16);
        expect(reply.readUInt32BE(0)).toBe(0);
        expect(reply.readUInt32BE(4)).toBe(0x5eed1234);
      } finally {
        udp.close();
      }

      proc!.kill("SIGTERM");
      expect(await exitWithin(proc!, 5000)).toBe(0);
      expect(proc!.signalCode).toBeNull();
      expect(await new Response(proc!.stderr as ReadableStream).text()).toBe("");
    } finally {
      if (proc !== null && proc.exitCode === null) proc.kill("SIGKILL");
    }
  }, TEST_TIMEOUT);
});
